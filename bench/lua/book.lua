-- GET /api/v1/books/{id} for ids spread evenly over the catalog.
-- args: lowest id, highest id
function init(args)
  low, high = tonumber(args[1]), tonumber(args[2])
  math.randomseed(7)
end

function request()
  return wrk.format("GET", "/api/v1/books/" .. math.random(low, high))
end

-- POST /api/v1/books/{id}/comments as a signed-in reader, on books spread over the catalog.
-- args: access token, lowest book id, highest book id
function init(args)
  token, low, high = args[1], tonumber(args[2]), tonumber(args[3])
  math.randomseed(11)
end

function request()
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }
  local body = '{"text":"Read it in one sitting; the ending stays with you.","rating":'
    .. math.random(1, 5) .. '}'
  return wrk.format("POST", "/api/v1/books/" .. math.random(low, high) .. "/comments", headers, body)
end

-- GET PATH, whole. args: path
function init(args)
  path = args[1]
end

function request()
  return wrk.format("GET", path)
end

-- GET PATH as a browser asks for a page. args: path
function init(args)
  path = args[1]
end

function request()
  return wrk.format("GET", path, { ["Accept"] = "text/html,application/xhtml+xml,*/*;q=0.8",
                                   ["Accept-Language"] = "en-US,en;q=0.9" })
end

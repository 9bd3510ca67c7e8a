-- GET PATH with a 1 MiB Range at a random MiB-aligned offset within SIZE bytes.
-- args: path, size in bytes
function init(args)
  path, size = args[1], tonumber(args[2])
  mib = 1024 * 1024
  slots = math.floor(size / mib)
  math.randomseed(11)
end

function request()
  local start = math.random(0, slots - 1) * mib
  return wrk.format("GET", path, { ["Range"] = "bytes=" .. start .. "-" .. (start + mib - 1) })
end

function response(status, headers, body)
  if status ~= 206 then
    wrk.thread:stop()
  end
end

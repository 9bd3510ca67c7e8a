-- POST /api/v1/purchases as a signed-in reader: a priced edition not bought before in this run
-- (a buyer has one open purchase per edition), and a fresh Idempotency-Key for every request
-- (so every request creates a purchase rather than replaying one). bench/run clears the
-- purchases before each run, warm-up included.
-- args: access token, file of priced edition ids (one a line), a tag unique to this run
function init(args)
  token, run = args[1], args[3]
  editions = {}
  for line in io.lines(args[2]) do
    editions[#editions + 1] = line
  end
  sent = 0
  math.randomseed(13)
  start = math.random(#editions)
end

function request()
  sent = sent + 1
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = run .. "-" .. sent,
  }
  local body = '{"edition_id":' .. editions[(start + sent) % #editions + 1] .. '}'
  return wrk.format("POST", "/api/v1/purchases", headers, body)
end

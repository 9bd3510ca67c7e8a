-- GET /api/v1/books?q=…&limit=20, turning over queries a reader might type: an author, part
-- of a title, both.
local queries = {
  "harr pott", "bronte", "tolkien hobbit", "hunger games", "dune herbert",
  "pride prejudice", "gatsby", "kite runner", "agatha christie", "murakami",
}
local next_query = 0

function request()
  next_query = next_query % #queries + 1
  local q = queries[next_query]:gsub(" ", "%%20")
  return wrk.format("GET", "/api/v1/books?limit=20&q=" .. q)
end

-- GET /api/v1/books?limit=20: the first page of the catalog by title, authors and all.
function request()
  return wrk.format("GET", "/api/v1/books?limit=20")
end

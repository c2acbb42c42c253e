-- wrk script: POST distinct pre-signed SignedRequestItems (DIR/<i>.der), a disjoint slice per thread.
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
function init(args)
  local dir, n, nthreads, offset = args[1], tonumber(args[2]), tonumber(args[3]), tonumber(args[4] or "0")
  bodies = {}
  local i = offset + tid
  while i <= n do
    local f = io.open(dir .. "/bench-" .. i .. ".der", "rb")
    bodies[#bodies + 1] = f:read("*a")
    f:close()
    i = i + nthreads
  end
  idx = 0
  statuses = {}
end
function request()
  idx = idx + 1
  local b = bodies[(idx - 1) % #bodies + 1]
  return wrk.format("POST", "/api/v1/requests", {["Content-Type"] = "application/octet-stream"}, b)
end
function response(status)
  statuses[status] = (statuses[status] or 0) + 1
end

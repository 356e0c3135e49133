-- wrk script that adds exactly FILL_PER_THREAD jobs per wrk thread (env), the
-- create workload's body. Once a thread has sent its quota its connections
-- ask GET /healthz instead; when all of its job creations are answered it
-- touches FILL_DONE_DIR/<thread> (bench/http/run waits for every thread's file,
-- then stops wrk with SIGINT) and stops. Failed creations are counted in
-- FILL_DONE_DIR/<thread> so the caller can check them.
local threads = {}

function setup(thread)
    thread:set("tid", #threads + 1)
    table.insert(threads, thread)
end

function init(args)
    quota = tonumber(os.getenv("FILL_PER_THREAD"))
    dir = os.getenv("FILL_DONE_DIR")
    sent, answered, failed = 0, 0, 0
    wrk.headers["Content-Type"] = "application/json"
end

function request()
    if sent >= quota then
        return wrk.format("GET", "/healthz", {}, nil)
    end
    sent = sent + 1
    local body = '{"func": "app.jobs.registry:send_daily_digest", "trigger": "interval", ' ..
        '"trigger_args": {"minutes": 10}, "name": "fill-' .. tid .. '-' .. sent .. '"}'
    return wrk.format("POST", "/schedule/jobs", nil, body)
end

function response(status, headers, body)
    if string.find(body, '"status"', 1, true) and not string.find(body, '"id"', 1, true) then
        return -- a /healthz answer
    end
    answered = answered + 1
    if status ~= 200 then
        failed = failed + 1
    end
    if answered == quota then
        local f = io.open(dir .. "/" .. tid, "w")
        f:write(string.format("%d %d\n", answered, failed))
        f:close()
        wrk.thread:stop()
    end
end

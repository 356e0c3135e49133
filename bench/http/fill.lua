-- wrk script that sends FILL_PER_THREAD job creations per wrk thread (env),
-- the create workload's body. Once a thread has sent its quota its
-- connections ask GET /healthz instead, and it writes FILL_DONE_DIR/<thread>
-- (bench/http/run waits for every thread's file, stops wrk with SIGINT, waits
-- until the job count is stable, and adds with curl what is missing, so the
-- count is exact: wrk calls the first thread's request() once to check the
-- request and never sends it, so one creation is always short). Non-200 answers are counted in
-- FILL_DONE_DIR/<thread>.failed.
local threads = {}

function setup(thread)
    thread:set("tid", #threads + 1)
    table.insert(threads, thread)
end

function init(args)
    quota = tonumber(os.getenv("FILL_PER_THREAD"))
    dir = os.getenv("FILL_DONE_DIR")
    sent, failed = 0, 0
    wrk.headers["Content-Type"] = "application/json"
end

function request()
    if sent >= quota then
        return wrk.format("GET", "/healthz", {}, nil)
    end
    sent = sent + 1
    if sent == quota then
        local f = io.open(dir .. "/" .. tid, "w")
        f:write(string.format("%d\n", sent))
        f:close()
    end
    local body = '{"func": "app.jobs.registry:send_daily_digest", "trigger": "interval", ' ..
        '"trigger_args": {"minutes": 10}, "name": "fill-' .. tid .. '-' .. sent .. '"}'
    return wrk.format("POST", "/schedule/jobs", nil, body)
end

function response(status, headers, body)
    if status ~= 200 then
        failed = failed + 1
        local f = io.open(dir .. "/" .. tid .. ".failed", "w")
        f:write(string.format("%d\n", failed))
        f:close()
    end
end

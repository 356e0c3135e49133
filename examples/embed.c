/*
 * Embedding libchime: an in-process scheduler over a job store, as an
 * application would use APScheduler. Adds the reference service's digest job
 * every second, lets it run for a few seconds, pauses it, lists the jobs and
 * stops. Usage: embed [store-url] (default memory://).
 */
#include <chime/scheduler.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct chime_scheduler_settings settings = {
        .store_url = argc > 1 ? argv[1] : "memory://",
        .max_workers = 4,
        .coalesce = true,
        .grace_s = 60,
        .shutdown_grace_ms = 5000,
        .timezone = "UTC",
    };
    struct chime_diag diag;
    struct chime_scheduler *scheduler;
    if (chime_scheduler_new(&settings, &scheduler, &diag) < 0) {
        fprintf(stderr, "embed: %s\n", diag.message);
        return 1;
    }
    char id[33];
    int rc = chime_scheduler_add_job(scheduler,
                                     "{\"func\": \"app.jobs.registry:send_daily_digest\", "
                                     "\"trigger\": \"interval\", \"trigger_args\": {\"seconds\": 1}, "
                                     "\"kwargs\": {\"user_segment\": \"beta\"}, \"name\": \"digest\"}",
                                     id, sizeof(id), &diag);
    if (rc < 0) {
        fprintf(stderr, "embed: %s\n", diag.message);
        chime_scheduler_free(scheduler);
        return 1;
    }
    /* A bad job is refused with a diagnostic that names the field. */
    if (chime_scheduler_add_job(scheduler, "{\"func\": \"chime:noop\", \"trigger\": \"interval\", "
                                           "\"trigger_args\": {\"minutes\": 0}}",
                                NULL, 0, &diag) < 0)
        printf("refused: %s\n", diag.message);
    chime_scheduler_start(scheduler);
    sleep(3);
    chime_scheduler_pause_job(scheduler, id);
    char *jobs = chime_scheduler_list_jobs(scheduler);
    printf("%s\n", jobs ? jobs : "(out of memory)");
    chime_scheduler_free_text(jobs);
    chime_scheduler_stop(scheduler);
    chime_scheduler_free(scheduler);
    return 0;
}

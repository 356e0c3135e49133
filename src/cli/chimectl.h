/*
 * chimectl's subcommands: each is a main-like function that chimectl.c's
 * dispatch table calls with argv starting at the subcommand's name.
 */
#ifndef CHIME_CLI_CHIMECTL_H
#define CHIME_CLI_CHIMECTL_H

/* `chimectl next`: next fire times of trigger specs, offline. Returns the exit status. */
int chimectl_next(int argc, char **argv);

/* `chimectl jobs`: manage the jobs of a running chimed over its REST API. Returns the exit status. */
int chimectl_jobs(int argc, char **argv);

/*
 * `chimectl --url URL --json jobs ...`: called with argv starting at the first
 * global option; passes them on to chimectl_jobs. Returns the exit status.
 */
int chimectl_global(int argc, char **argv);

#endif /* CHIME_CLI_CHIMECTL_H */

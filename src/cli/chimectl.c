/*
 * chimectl, the command-line client: a table of subcommands and the main that
 * dispatches to them. Subcommands that talk to a chimed REST API join the
 * table as they land; `next` works offline, like `systemd-analyze calendar`.
 */
#include "cli/chimectl.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    { "next", chimectl_next, "print the next fire times of trigger specs (offline)" },
    { "jobs", chimectl_jobs, "manage the jobs of a running chimed (chimectl jobs --help)" },
    { "--url", chimectl_global, "URL before a command: the chimed server (default $CHIME_URL)" },
    { "--json", chimectl_global, "before a command: print the server's JSON as received" },
};

static void usage(FILE *out)
{
    fprintf(out, "usage: chimectl <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun `chimectl <command> --help` for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "chimectl: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return 2;
}

/*
 * libFuzzer target for the settings loader: the input is the content of a
 * .env file. It is parsed from memory (every value also goes through the
 * parser of every setting type, and its setting's validator), then the whole
 * loader reads it as the .env file (through a memfd) and validates the
 * result. Nothing may crash or leak; a failed load must say why and name a
 * setting or the file, and a successful one must hold every string setting.
 *
 * The fuzz targets link libchime only (CMakeLists.txt), not chimed_lib, so
 * the config sources are compiled into this target directly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../src/config/dotenv.c"
#include "../../src/config/settings.c"
#include "../../src/config/settings_parse.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every type's parser on every value, and the setting's own parse + validator. */
static int visit_value(const char *key, const char *value, int line, void *ctx)
{
    (void)line;
    (void)ctx;
    int64_t i;
    bool b;
    int e;
    (void)chime__setting_parse_int(value, &i);
    (void)chime__setting_parse_bool(value, &b);
    (void)chime__setting_parse_duration(value, &i);
    (void)chime__setting_parse_size(value, &i);
    (void)chime__setting_parse_enum("debug|info|warn|error", value, &e);
    int id = chime__settings_find_env(key, strlen(key));
    if (id < 0)
        return 0;
    const struct chime_setting_desc *d = &chime_settings_table()[id];
    struct chime_settings s;
    memset(&s, 0, sizeof(s));
    struct chime_diag diag;
    void *field = (char *)&s + d->offset;
    if (chime__setting_parse(d, value, field, &diag) == 0 && d->check)
        (void)d->check(d, field, &diag);
    chime_settings_release(&s);
    return 0;
}

static void load_from_memfd(const uint8_t *data, size_t size)
{
    static int fd = -1;
    if (fd < 0)
        fd = memfd_create("fuzz.env", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        return;
    char var[64];
    snprintf(var, sizeof(var), "CHIME_ENV_FILE=/proc/self/fd/%d", fd);
    char *envp[] = { var, NULL };
    char *argv[] = { "chimed", NULL };
    struct chime_settings s;
    struct chime_diag diag;
    int err = chime_settings_load(1, argv, envp, &s, &diag);
    if (err) {
        if (!diag.message[0])
            abort(); /* every failure says why */
        return;
    }
    if (!s.database_url || !s.host || !s.timezone || !s.api_token || !s.node_name || !*s.node_name)
        abort();
    chime_settings_release(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct chime_diag diag;
    int err = chime_dotenv_parse((const char *)data, size, "fuzz.env", visit_value, NULL, &diag);
    if (err == CHIME_EINVAL && strncmp(diag.message, "fuzz.env:", 9) != 0)
        abort(); /* a syntax error names file:line */
    load_from_memfd(data, size);
    return 0;
}

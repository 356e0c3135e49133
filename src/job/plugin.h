/*
 * The plugin loader: resolves "module.sub:function" names that are not
 * compiled-in modules to <plugin dir>/module/sub.so and its exported
 * descriptor chime_plugin_<function> (include/chime/plugin.h), and serves them
 * to the registry as ordinary struct chime_func entries. Only the configured
 * directory is ever searched; names are checked component by component and
 * the resolved real path must stay inside the directory.
 */
#ifndef CHIME_JOB_PLUGIN_H
#define CHIME_JOB_PLUGIN_H

#include <chime/chime.h>

#include "job/registry.h"

/**
 * Sets the plugin directory (copied, resolved with realpath). NULL or "" =
 * no plugins. CHIME_EINVAL with diag (field "plugin_dir") when the directory
 * does not exist or is not a directory. Call at start-up, before jobs are
 * resolved; thread-safe, but functions already resolved stay loaded.
 */
int chime__plugin_dir_set(const char *dir, struct chime_diag *diag);

/** True when a plugin directory is set. Thread-safe. */
bool chime__plugin_enabled(void);

/**
 * Resolves module (mlen bytes, not NUL-terminated) and function name through
 * the plugin directory, loading the shared object once (cached, thread-safe).
 * *out stays valid until chime__plugin_reset. CHIME_EFUNC with diag (field
 * "func") when plugins are off, a name component is not an identifier, the
 * file is missing or outside the directory, it cannot be loaded, the symbol
 * is missing or its descriptor is invalid (ABI version, parameters).
 */
int chime__plugin_find(const char *module, size_t mlen, const char *name,
                       const struct chime_func **out, struct chime_diag *diag);

/**
 * For tests: forgets the directory, every resolved function and closes the
 * loaded objects. No function resolved before may be used afterwards.
 */
void chime__plugin_reset(void);

#endif /* CHIME_JOB_PLUGIN_H */

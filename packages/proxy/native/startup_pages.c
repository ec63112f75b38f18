/*
 * releaseStartupPages(): { mappings, residentBytes }
 *
 * Drops this process's page-table entries for the read-only, file-backed
 * mappings of the file Node's own code lives in (the node executable, or
 * libnode.so where Node is built shared), registered in addon.c.
 *
 * Why: starting Node touches ~40 MB of that file (V8's startup snapshot,
 * symbol tables, the module loader and compiler, ICU), and those pages stay
 * in the process's RSS although a running proxy needs a third of them. After
 * MADV_DONTNEED on a private file mapping the pages are no longer counted in
 * the process's RSS; the kernel keeps them in its page cache, shared with
 * every other Node process, and any page the process touches again is mapped
 * back from there by a minor fault. What a proxy still uses comes back in its
 * first requests; the rest stays out (bench/RESULTS.md, session 11).
 *
 * Only mappings that are safe to drop are touched: private, not writable, and
 * holding no anonymous (copy-on-write) page — a RELRO segment after its
 * relocations holds some, and dropping it would lose them. The file is found
 * by address (the mapping that holds napi_create_function's code) and its
 * mappings by that mapping's device and inode, as /proc/self/smaps reports
 * them: comparing with stat() of /proc/self/exe would fail on overlayfs,
 * where the two disagree.
 *
 * Returns how many mappings were released and how many of their bytes were
 * resident just before. Throws with the reason when /proc/self/smaps cannot
 * be read or the code's mapping is not found.
 */
#include <errno.h>
#include <inttypes.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "addon.h"

struct mapping {
  uintptr_t start, end;
  char perms[5];
  char dev[16];
  unsigned long inode;
  unsigned long rss_kb;
  unsigned long anonymous_kb;
};

/* Every mapping of /proc/self/smaps with the fields used here; NULL (errno set) on failure. */
static struct mapping *read_smaps(size_t *count) {
  FILE *f = fopen("/proc/self/smaps", "r");
  if (!f) return NULL;
  size_t cap = 256, n = 0;
  struct mapping *maps = malloc(cap * sizeof(*maps));
  char *line = NULL;
  size_t len = 0;
  while (maps && getline(&line, &len, f) > 0) {
    struct mapping m;
    memset(&m, 0, sizeof(m));
    if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s %*s %15s %lu", &m.start, &m.end, m.perms, m.dev, &m.inode) == 5) {
      if (n == cap) {
        struct mapping *bigger = realloc(maps, (cap *= 2) * sizeof(*maps));
        if (!bigger) {
          free(maps);
          maps = NULL;
          break;
        }
        maps = bigger;
      }
      maps[n++] = m;
    } else if (n > 0) {
      sscanf(line, "Rss: %lu kB", &maps[n - 1].rss_kb);
      sscanf(line, "Anonymous: %lu kB", &maps[n - 1].anonymous_kb);
    }
  }
  free(line);
  fclose(f);
  if (!maps) errno = ENOMEM;
  *count = n;
  return maps;
}

static int droppable(const struct mapping *m, const struct mapping *code) {
  return m->inode == code->inode && strcmp(m->dev, code->dev) == 0 && m->perms[1] != 'w' && m->perms[3] == 'p' &&
         m->anonymous_kb == 0;
}

napi_value release_startup_pages(napi_env env, napi_callback_info info) {
  (void)info;
  size_t n = 0;
  struct mapping *maps = read_smaps(&n);
  if (!maps) {
    char why[128];
    snprintf(why, sizeof(why), "cannot read /proc/self/smaps: %s", strerror(errno));
    napi_throw_error(env, NULL, why);
    return NULL;
  }
  uintptr_t code_address = (uintptr_t)&napi_create_function;
  const struct mapping *code = NULL;
  for (size_t i = 0; i < n && !code; i++) {
    if (maps[i].start <= code_address && code_address < maps[i].end && maps[i].inode != 0) code = &maps[i];
  }
  if (!code) {
    free(maps);
    napi_throw_error(env, NULL, "Node's code is not in a file-backed mapping (started with --use-largepages?)");
    return NULL;
  }
  int32_t released = 0;
  double resident = 0;
  for (size_t i = 0; i < n; i++) {
    if (!droppable(&maps[i], code)) continue;
    if (madvise((void *)maps[i].start, maps[i].end - maps[i].start, MADV_DONTNEED) == 0) {
      released++;
      resident += (double)maps[i].rss_kb * 1024;
    }
  }
  free(maps);
  napi_value result, v;
  napi_create_object(env, &result);
  napi_create_int32(env, released, &v);
  napi_set_named_property(env, result, "mappings", v);
  napi_create_double(env, resident, &v);
  napi_set_named_property(env, result, "residentBytes", v);
  return result;
}

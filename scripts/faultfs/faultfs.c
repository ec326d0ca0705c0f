// faultfs: a FUSE passthrough filesystem (libfuse3) over a backing directory that fails or
// delays write and fsync on chosen paths, for storage-fault tests on a real kernel filesystem
// path (issue 11): the process under test makes real syscalls and gets real EIO from the kernel.
//
//   faultfs BACKING MOUNTPOINT RULES [fuse options, e.g. -f -o allow_other]
//
// RULES is a text file read again whenever it changes (write it elsewhere and rename it over);
// an empty or missing file means no faults. One rule a line, the first matching line wins:
//
//   OP ACTION PATTERN
//   OP      write | fsync | any      (fsync covers fsync, fdatasync and fsync of a directory)
//   ACTION  an errno name (EIO, ENOSPC, EROFS, EDQUOT) or delay=MS (the call then goes through)
//   PATTERN an fnmatch(3) glob on the path inside the mount, e.g. /spool/* or * (`*` spans '/')
//
// Every injected fault is counted and printed on stderr (the first one per path and rule and
// then every 100th), so a test can tell that its fault was met.
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <fuse.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_RULES 64

enum op { OP_WRITE = 1, OP_FSYNC = 2 };

struct rule {
  int ops;       // OP_WRITE | OP_FSYNC
  int err;       // errno to return, 0 for a delay
  int delay_ms;  // delay before the call goes through
  char pattern[PATH_MAX];
  unsigned long hits;
};

static const char *backing;
static const char *rules_path;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct rule rules[MAX_RULES];
static int nrules;
static struct stat rules_seen;  // dev, ino, size, mtime of the rules file last read

static const struct { const char *name; int value; } errnos[] = {
    {"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EROFS", EROFS}, {"EDQUOT", EDQUOT}, {"EFBIG", EFBIG}, {"EPERM", EPERM}, {"EACCES", EACCES},
};

static void full_path(char out[PATH_MAX], const char *path) { snprintf(out, PATH_MAX, "%s%s", backing, path); }

static int same_file(const struct stat *a, const struct stat *b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
         a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

// Called with the lock held: reads RULES again if it changed since the last read.
static void reload_rules(void) {
  struct stat st;
  if (stat(rules_path, &st) != 0) {
    nrules = 0;
    memset(&rules_seen, 0, sizeof rules_seen);
    return;
  }
  if (same_file(&st, &rules_seen)) return;
  rules_seen = st;
  nrules = 0;
  FILE *f = fopen(rules_path, "r");
  if (!f) return;
  char line[PATH_MAX + 64], op[16], action[32], pattern[PATH_MAX];
  while (fgets(line, sizeof line, f) && nrules < MAX_RULES) {
    if (line[0] == '#' || sscanf(line, "%15s %31s %4095s", op, action, pattern) != 3) continue;
    struct rule r = {0};
    r.ops = !strcmp(op, "write") ? OP_WRITE : !strcmp(op, "fsync") ? OP_FSYNC : !strcmp(op, "any") ? OP_WRITE | OP_FSYNC : 0;
    if (!strncmp(action, "delay=", 6)) {
      r.delay_ms = atoi(action + 6);
    } else {
      for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
        if (!strcmp(action, errnos[i].name)) r.err = errnos[i].value;
    }
    if (!r.ops || (!r.err && r.delay_ms <= 0)) {
      fprintf(stderr, "faultfs: rule ignored (want OP ACTION PATTERN): %s", line);
      continue;
    }
    snprintf(r.pattern, sizeof r.pattern, "%s", pattern);
    rules[nrules++] = r;
  }
  fclose(f);
  fprintf(stderr, "faultfs: %d rule(s) from %s\n", nrules, rules_path);
}

// The fault for `op` on `path`: returns -errno to fail the call, or 0 (after any delay) to go on.
static int fault(int op, const char *path) {
  int err = 0, delay_ms = 0;
  pthread_mutex_lock(&lock);
  reload_rules();
  for (int i = 0; i < nrules; i++) {
    struct rule *r = &rules[i];
    if (!(r->ops & op) || fnmatch(r->pattern, path, 0) != 0) continue;
    err = r->err;
    delay_ms = r->delay_ms;
    if (r->hits++ % 100 == 0) {
      if (err) fprintf(stderr, "faultfs: %s %s: %s (%lu so far)\n", op == OP_WRITE ? "write" : "fsync", path, strerrorname_np(err), r->hits);
      else fprintf(stderr, "faultfs: %s %s: delayed %d ms (%lu so far)\n", op == OP_WRITE ? "write" : "fsync", path, delay_ms, r->hits);
    }
    break;
  }
  pthread_mutex_unlock(&lock);
  if (delay_ms > 0) {
    struct timespec ts = {delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
  return err ? -err : 0;
}

static void *ff_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
  (void)conn;
  // The kernel must not answer for us: every write and attribute goes to the backing file.
  cfg->use_ino = 1;
  cfg->entry_timeout = cfg->attr_timeout = cfg->negative_timeout = 0;
  cfg->direct_io = 0;
  return NULL;
}

static int ff_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
  char p[PATH_MAX];
  int res = fi ? fstat((int)fi->fh, st) : (full_path(p, path), lstat(p, st));
  return res == -1 ? -errno : 0;
}

static int ff_access(const char *path, int mask) {
  char p[PATH_MAX];
  full_path(p, path);
  return access(p, mask) == -1 ? -errno : 0;
}

static int ff_readlink(const char *path, char *buf, size_t size) {
  char p[PATH_MAX];
  full_path(p, path);
  ssize_t n = readlink(p, buf, size - 1);
  if (n == -1) return -errno;
  buf[n] = '\0';
  return 0;
}

static int ff_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi, enum fuse_readdir_flags flags) {
  (void)off, (void)fi, (void)flags;
  char p[PATH_MAX];
  full_path(p, path);
  DIR *d = opendir(p);
  if (!d) return -errno;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    struct stat st = {0};
    st.st_ino = de->d_ino;
    st.st_mode = (mode_t)de->d_type << 12;
    if (fill(buf, de->d_name, &st, 0, 0)) break;
  }
  closedir(d);
  return 0;
}

static int ff_mkdir(const char *path, mode_t mode) {
  char p[PATH_MAX];
  full_path(p, path);
  return mkdir(p, mode) == -1 ? -errno : 0;
}

static int ff_unlink(const char *path) {
  char p[PATH_MAX];
  full_path(p, path);
  return unlink(p) == -1 ? -errno : 0;
}

static int ff_rmdir(const char *path) {
  char p[PATH_MAX];
  full_path(p, path);
  return rmdir(p) == -1 ? -errno : 0;
}

static int ff_symlink(const char *from, const char *to) {
  char p[PATH_MAX];
  full_path(p, to);
  return symlink(from, p) == -1 ? -errno : 0;
}

static int ff_rename(const char *from, const char *to, unsigned int flags) {
  char a[PATH_MAX], b[PATH_MAX];
  full_path(a, from);
  full_path(b, to);
  return renameat2(AT_FDCWD, a, AT_FDCWD, b, flags) == -1 ? -errno : 0;
}

static int ff_link(const char *from, const char *to) {
  char a[PATH_MAX], b[PATH_MAX];
  full_path(a, from);
  full_path(b, to);
  return link(a, b) == -1 ? -errno : 0;
}

static int ff_chmod(const char *path, mode_t mode, struct fuse_file_info *fi) {
  char p[PATH_MAX];
  full_path(p, path);
  int res = fi ? fchmod((int)fi->fh, mode) : chmod(p, mode);
  return res == -1 ? -errno : 0;
}

static int ff_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi) {
  char p[PATH_MAX];
  full_path(p, path);
  int res = fi ? fchown((int)fi->fh, uid, gid) : lchown(p, uid, gid);
  return res == -1 ? -errno : 0;
}

static int ff_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
  char p[PATH_MAX];
  full_path(p, path);
  int res = fi ? ftruncate((int)fi->fh, size) : truncate(p, size);
  return res == -1 ? -errno : 0;
}

static int ff_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi) {
  char p[PATH_MAX];
  full_path(p, path);
  int res = fi ? futimens((int)fi->fh, tv) : utimensat(AT_FDCWD, p, tv, AT_SYMLINK_NOFOLLOW);
  return res == -1 ? -errno : 0;
}

static int ff_create(const char *path, mode_t mode, struct fuse_file_info *fi) {
  char p[PATH_MAX];
  full_path(p, path);
  int fd = open(p, fi->flags, mode);
  if (fd == -1) return -errno;
  fi->fh = (uint64_t)fd;
  return 0;
}

static int ff_open(const char *path, struct fuse_file_info *fi) {
  char p[PATH_MAX];
  full_path(p, path);
  int fd = open(p, fi->flags);
  if (fd == -1) return -errno;
  fi->fh = (uint64_t)fd;
  return 0;
}

static int ff_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)path;
  ssize_t n = pread((int)fi->fh, buf, size, off);
  return n == -1 ? -errno : (int)n;
}

static int ff_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  int err = fault(OP_WRITE, path);
  if (err) return err;
  ssize_t n = pwrite((int)fi->fh, buf, size, off);
  return n == -1 ? -errno : (int)n;
}

static int ff_statfs(const char *path, struct statvfs *st) {
  char p[PATH_MAX];
  full_path(p, path);
  return statvfs(p, st) == -1 ? -errno : 0;
}

static int ff_flush(const char *path, struct fuse_file_info *fi) {
  (void)path;
  // close() of a duplicate: what a close on the backing file would report.
  int fd = dup((int)fi->fh);
  if (fd == -1) return -errno;
  return close(fd) == -1 ? -errno : 0;
}

static int ff_release(const char *path, struct fuse_file_info *fi) {
  (void)path;
  close((int)fi->fh);
  return 0;
}

static int ff_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
  int err = fault(OP_FSYNC, path);
  if (err) return err;
  int res = datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh);
  return res == -1 ? -errno : 0;
}

static int ff_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi) {
  (void)datasync, (void)fi;
  int err = fault(OP_FSYNC, path);
  if (err) return err;
  char p[PATH_MAX];
  full_path(p, path);
  int fd = open(p, O_RDONLY | O_DIRECTORY);
  if (fd == -1) return -errno;
  int res = fsync(fd);
  err = errno;
  close(fd);
  return res == -1 ? -err : 0;
}

static int ff_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi) {
  int err = fault(OP_WRITE, path);
  if (err) return err;
  return fallocate((int)fi->fh, mode, off, len) == -1 ? -errno : 0;
}

static const struct fuse_operations ops = {
    .init = ff_init,
    .getattr = ff_getattr,
    .access = ff_access,
    .readlink = ff_readlink,
    .readdir = ff_readdir,
    .mkdir = ff_mkdir,
    .unlink = ff_unlink,
    .rmdir = ff_rmdir,
    .symlink = ff_symlink,
    .rename = ff_rename,
    .link = ff_link,
    .chmod = ff_chmod,
    .chown = ff_chown,
    .truncate = ff_truncate,
    .utimens = ff_utimens,
    .create = ff_create,
    .open = ff_open,
    .read = ff_read,
    .write = ff_write,
    .statfs = ff_statfs,
    .flush = ff_flush,
    .release = ff_release,
    .fsync = ff_fsync,
    .fsyncdir = ff_fsyncdir,
    .fallocate = ff_fallocate,
};

int main(int argc, char *argv[]) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s BACKING MOUNTPOINT RULES [fuse options, e.g. -f -o allow_other]\n", argv[0]);
    return 2;
  }
  static char real[PATH_MAX];
  if (!realpath(argv[1], real)) {
    perror(argv[1]);
    return 2;
  }
  backing = real;
  // fuse_main may chdir("/"): the rules file is named by an absolute path.
  static char rules_abs[2 * PATH_MAX];
  char cwd[PATH_MAX];
  if (argv[3][0] != '/' && getcwd(cwd, sizeof cwd)) snprintf(rules_abs, sizeof rules_abs, "%s/%s", cwd, argv[3]);
  else snprintf(rules_abs, sizeof rules_abs, "%s", argv[3]);
  rules_path = rules_abs;
  // fuse_main sees: argv[0] MOUNTPOINT [options...]
  char **fargs = calloc((size_t)argc, sizeof *fargs);
  int n = 0;
  fargs[n++] = argv[0];
  fargs[n++] = argv[2];
  for (int i = 4; i < argc; i++) fargs[n++] = argv[i];
  umask(0);
  return fuse_main(n, fargs, &ops, NULL);
}

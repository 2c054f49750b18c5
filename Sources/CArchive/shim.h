#ifndef IMPRINT_CARCHIVE_SHIM_H
#define IMPRINT_CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>
// The agent's capture compresses with libzstd directly: multithreaded (ZSTD_c_nbWorkers),
// which libarchive's zstd write filter does not expose for streaming to libcurl.
#include <zstd.h>

// AE_IFREG and friends are macros built from octal casts that Swift does not
// import; name them as constants.
static const unsigned int imprint_ae_ifreg = AE_IFREG;
static const unsigned int imprint_ae_ifdir = AE_IFDIR;
static const unsigned int imprint_ae_iflnk = AE_IFLNK;
static const unsigned int imprint_ae_ifchr = AE_IFCHR;
static const unsigned int imprint_ae_ifblk = AE_IFBLK;
#endif

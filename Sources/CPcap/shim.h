#ifndef CORONER_CPCAP_SHIM_H
#define CORONER_CPCAP_SHIM_H
#include <pcap/pcap.h>
// __fsetlocking (glibc, Solaris): the savefile stream is read from one thread only.
#if __has_include(<stdio_ext.h>)
#include <stdio_ext.h>
#endif
#endif

#ifndef CORONER_CPCAP_SHIM_H
#define CORONER_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif

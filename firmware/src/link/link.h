/* The link now lives in the device SDK (firmware/sdk); this name stays for the services. */
#include "hil_link.h"

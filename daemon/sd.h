/*
 * sd.h: the systemd environment protocols, without libsystemd: socket
 * activation (LISTEN_PID/LISTEN_FDS) and notification (NOTIFY_SOCKET:
 * READY=1, STATUS=, STOPPING=1, WATCHDOG=1).
 */
#ifndef DAEMON_SD_H
#define DAEMON_SD_H

#include <stdint.h>

#define SD_LISTEN_FDS_START 3

/*
 * The number of fds passed by socket activation (they start at fd 3), 0 if
 * none were passed to this process.  Clears the variables and marks the
 * fds close-on-exec.
 */
int sd_listen_fds(void);

/* Send state (e.g. "READY=1\nSTATUS=serving") to $NOTIFY_SOCKET, if set:
 * 1 sent, 0 not under systemd, -1 error. */
int sd_notify(const char *state);

/* The watchdog interval for this process in microseconds, 0 if none. */
uint64_t sd_watchdog_usec(void);

#endif

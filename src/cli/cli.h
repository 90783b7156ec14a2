/* What the commands of the evote CLI share: exit codes and the commands that
 * live in their own files (each registered in evote.c's command table). */
#ifndef EVOTE_CLI_H
#define EVOTE_CLI_H

#define EXIT_FAILED 1 /* the operation failed */
#define EXIT_USAGE 2  /* the command line is wrong */

/* Returns: 1 when argv has --help or -h. */
int cli_wants_help(int argc, char **argv);

/* evote genesis: keys, configs and genesis file of a local test cluster. */
int cmd_genesis(int argc, char **argv);

/* The client commands (cmd_client.c): each asks a validator's client
 * endpoint (client_listen) over ZeroMQ, one ApiRequest, one ApiResponse. */
int cmd_status(int argc, char **argv);
int cmd_tip(int argc, char **argv);
int cmd_block(int argc, char **argv);
int cmd_tx(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_notice(int argc, char **argv);

#endif

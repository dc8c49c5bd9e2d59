/* cli.h — subcommands of the `mobileclip` tool and the helpers they share.
 *
 * Each subcommand lives in its own cmd_*.c and returns the process exit
 * code: 0 success, 1 failure (message on stderr), 2 usage error.
 */
#ifndef MC_TOOLS_CLI_H
#define MC_TOOLS_CLI_H

#include <stdio.h>

#include "mobileclip.h"
#include "io/tensor_file.h"

int cli_info (int argc, char **argv);
int cli_embed_image (int argc, char **argv);
int cli_embed_text (int argc, char **argv);
int cli_classify (int argc, char **argv);
int cli_tokenize (int argc, char **argv);
int cli_bench (int argc, char **argv);
int cli_preprocess (int argc, char **argv);

/* Prints "mobileclip <cmd>: <message>" to stderr and returns 1. */
int cli_fail (const char *cmd, const mc_error *err);

/* Opens "FILE.safetensors:NAME" and finds the tensor; on failure prints the
 * reason and returns NULL.  *file must be closed by the caller. */
const mc_tensor_info *cli_open_tensor (const char *cmd, const char *spec,
    mc_tensor_file **file);

/* Accepts a float image tensor [N,3,H,W] or one image [3,H,W] (what
 * `mobileclip preprocess` writes); prints why not and returns 0 otherwise. */
int cli_image_batch (const char *cmd, const mc_tensor_info *t, int *n, int *h, int *w);

/* Prints {"<key>": [[...], ...]} for n rows of d floats (%.9g, round-trips). */
void cli_print_rows (FILE *out, const char *key, const float *rows, int n, int d);

/* Loads a model with the common options (--model, --config, --threads,
 * --vocab, --precision) already parsed; prints the error and returns NULL on
 * failure. */
mc_context *cli_load_model (const char *cmd, const char *model, const char *config,
    int threads, const char *vocab, unsigned towers, mc_precision precision);

/* getopt_long value of the long-only --precision option
 * (auto|fp32|bf16|int8), and its parser: prints why and returns -1 for
 * another value. */
#define CLI_OPT_PRECISION 0x100
int cli_parse_precision (const char *cmd, const char *value);

/* The GEMM kernel the context's products run (mc_gemm_kernel_name of the
 * panel format its precision packs), e.g. "avx2", "avx512bf16", "avx2-int8". */
const char *cli_gemm_kernel (const mc_context *ctx);

#endif

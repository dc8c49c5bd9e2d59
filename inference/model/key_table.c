/* key_table.c — see key_table.h. */
#include "key_table.h"

#include "model/mci.h"
#include "model/text_encoder.h"
#include "model/weights.h"

mc_status
mc_model_key_table (const mc_model_config *cfg, GString *out, mc_error *err)
{
  mc_status st = MC_OK;

  g_string_append (out, "logit_scale\t[]\n");
  if (cfg->has_image) {
    mc_weights *w = mc_weights_new_recorder ("image_encoder.model.");
    mc_mci *m = NULL;
    st = mc_mci_build (&cfg->image, cfg->embed_dim, w, &m, err);
    g_string_append (out, mc_weights_key_table (w));
    mc_mci_free (m);
    mc_weights_free (w);
  }
  if (cfg->has_text && st == MC_OK) {
    mc_weights *w = mc_weights_new_recorder ("text_encoder.");
    mc_text_encoder *t = NULL;
    st = mc_text_encoder_build (&cfg->text, cfg->embed_dim, w, &t, err);
    g_string_append (out, mc_weights_key_table (w));
    mc_text_encoder_free (t);
    mc_weights_free (w);
  }
  return st;
}

/* gstmobileclipfilter.h — mobileclipfilter: zero-shot classification of raw
 * video frames with MobileCLIP, results as metas and element messages. */
#ifndef __GST_MOBILECLIP_FILTER_H__
#define __GST_MOBILECLIP_FILTER_H__

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>
#include <gst/video/video.h>

#include "mobileclip.h"
#include "gstmobileclipprompts.h"
#include "meta/gstmobileclipmeta.h"

G_BEGIN_DECLS

#define GST_TYPE_MOBILECLIP_FILTER (gst_mobileclip_filter_get_type ())
G_DECLARE_FINAL_TYPE (GstMobileClipFilter, gst_mobileclip_filter,
    GST, MOBILECLIP_FILTER, GstBaseTransform)

#define GST_TYPE_MOBILECLIP_PRECISION (gst_mobileclip_precision_get_type ())
GType gst_mobileclip_precision_get_type (void);

typedef enum {
  GST_MOBILECLIP_PRECISION_AUTO,
  GST_MOBILECLIP_PRECISION_FP32,
  GST_MOBILECLIP_PRECISION_BF16,
  GST_MOBILECLIP_PRECISION_INT8,
} GstMobileClipPrecision;

/* One region to classify: the whole frame or an upstream ROI. */
typedef struct {
  gint roi_id;                 /* -1: whole frame */
  guint x, y, width, height;
} GstMobileClipRegion;

/* The frames a worker pass (or a synchronous pass) classifies: timing of the
 * source frame, its regions and their preprocessed model inputs. */
typedef struct {
  GstClockTime pts, duration, stream_time, running_time;
  guint n_regions;
  GstMobileClipRegion *regions;  /* capacity: regions_size */
  guint regions_size;
  gfloat *input;                 /* n_regions × size × size × 3, NHWC */
  gsize input_size;              /* floats allocated */
} GstMobileClipJob;

struct _GstMobileClipFilter {
  GstBaseTransform parent;

  /* properties, under the object lock */
  gchar *model;
  gchar *config;
  gchar *vocab;
  GstMobileClipPromptSource source;
  guint top_k;
  gdouble threshold;
  guint interval;
  gint threads;
  gboolean post_messages;
  gboolean attach_embedding;
  gboolean roi_mode;
  GstMobileClipPrecision precision;
  gboolean prompts_changed;    /* a prompt property changed since the last build */

  /* negotiated format, streaming thread */
  GstVideoInfo info;

  /* the engine, built in start(), used by one thread at a time: the
   * streaming thread for non-live input, the worker for live input */
  mc_context *ctx;
  mc_preprocessor *pp;
  GstMobileClipLabelSet *labels;
  gfloat scale;                /* exp(logit_scale), clamped */
  gint size, dim;
  gfloat *embeddings;          /* [regions × dim] */
  mc_score *scores;            /* [labels] */
  GstMobileClipResult *results;  /* [top-k] */
  gsize embeddings_size, scores_size, results_size;
  guint label_builds;          /* prompt sets built since start (for tests) */

  /* streaming state */
  guint64 frames_since_analysis;
  gboolean live_checked;
  gboolean live;
  GstClockTime earliest_time;  /* QoS: frames running before this are late */
  guint64 qos_skipped;

  /* live worker: the streaming thread fills `job` only while the worker is
   * idle, so one job suffices; `ready` carries finished results (as metas on
   * an empty buffer) to the next outgoing buffer */
  GMutex lock;
  GCond cond;
  GThread *worker;
  gboolean worker_busy;
  gboolean worker_stop;
  gboolean worker_failed;      /* run_job posted an error */
  guint generation;            /* bumped by flushes: older results are stale */
  GstMobileClipJob job;
  GstBuffer *ready;
};

GST_ELEMENT_REGISTER_DECLARE (mobileclipfilter);

G_END_DECLS

#endif /* __GST_MOBILECLIP_FILTER_H__ */

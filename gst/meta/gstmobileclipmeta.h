/* gstmobileclipmeta.h — the zero-shot classification result that
 * mobileclipfilter attaches to video buffers, for applications to read.
 *
 * Link against gstmobileclipmeta-1.0 (pkg-config name) and include
 * <gst/mobileclip/gstmobileclipmeta.h>.  docs/metadata.md describes every
 * field and how the meta relates to the GstVideoRegionOfInterestMeta and the
 * "mobileclip" element message carrying the same result.
 */
#ifndef __GST_MOBILECLIP_META_H__
#define __GST_MOBILECLIP_META_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#ifdef BUILDING_GST_MOBILECLIP_META
#define GST_MOBILECLIP_META_API __attribute__ ((visibility ("default")))
#else
#define GST_MOBILECLIP_META_API extern
#endif

#define GST_MOBILECLIP_META_API_TYPE (gst_mobileclip_meta_api_get_type ())
#define GST_MOBILECLIP_META_INFO (gst_mobileclip_meta_get_info ())

/* The name of the GstStructure the element puts on ROI metas and of its
 * element messages. */
#define GST_MOBILECLIP_META_STRUCTURE_NAME "mobileclip"

/* The label reported when no prompt passed the threshold, or when a negative
 * prompt scored best. */
#define GST_MOBILECLIP_UNKNOWN_LABEL "unknown"

/**
 * GstMobileClipResult:
 * @label: the prompt's label (owned by the meta)
 * @label_id: the label's row in the element's prompt list (0-based)
 * @probability: softmax over all prompts (negatives included) of
 *     scale · cosine, where scale is the model's exp(logit_scale)
 * @cosine: cosine similarity of the image and prompt embeddings
 *
 * One scored label.
 */
typedef struct {
  gchar *label;
  gint label_id;
  gfloat probability;
  gfloat cosine;
} GstMobileClipResult;

/**
 * GstMobileClipMeta:
 * @meta: parent #GstMeta
 * @pts: PTS of the frame the result was computed on.  Equal to the buffer's
 *     own PTS for non-live input; for live input the result of an earlier
 *     frame travels on the next outgoing buffer.
 * @roi_id: id of the upstream GstVideoRegionOfInterestMeta this result
 *     classifies (roi-mode), or -1 for the whole frame
 * @x: left edge of the analysed region, in pixels of the buffer
 * @y: top edge
 * @width: width of the region
 * @height: height of the region
 * @unknown: %TRUE when the best prompt fell below the element's threshold
 *     or was a negative prompt: the region is reported as "unknown"
 * @n_results: entries in @results (the element's top-k, negatives excluded)
 * @results: scored labels, most probable first
 * @embedding_dim: length of @embedding, 0 when absent
 * @embedding: the L2-normalized image embedding, or %NULL (the element's
 *     attach-embedding property)
 * @fingerprint: hash of the model weights that produced the result
 *
 * Zero-shot classification of one frame or region.  A buffer carries one meta
 * per analysed region.
 */
typedef struct {
  GstMeta meta;

  GstClockTime pts;
  gint roi_id;
  guint x, y, width, height;
  gboolean unknown;

  guint n_results;
  GstMobileClipResult *results;

  guint embedding_dim;
  gfloat *embedding;

  gchar *fingerprint;
} GstMobileClipMeta;

GST_MOBILECLIP_META_API
GType gst_mobileclip_meta_api_get_type (void);

GST_MOBILECLIP_META_API
const GstMetaInfo *gst_mobileclip_meta_get_info (void);

/* Adds a meta holding copies of n_results results (and of the embedding when
 * not NULL).  pts, roi_id, the region and unknown start as
 * GST_CLOCK_TIME_NONE, -1, 0 and FALSE: the caller fills them in. */
GST_MOBILECLIP_META_API
GstMobileClipMeta *gst_buffer_add_mobileclip_meta (GstBuffer * buffer,
    const GstMobileClipResult * results, guint n_results,
    const gfloat * embedding, guint embedding_dim, const gchar * fingerprint);

/* The whole-frame result (roi_id -1) if there is one, else the first meta. */
GST_MOBILECLIP_META_API
GstMobileClipMeta *gst_buffer_get_mobileclip_meta (GstBuffer * buffer);

/* The result for the ROI with the given id (-1: whole frame), or NULL. */
GST_MOBILECLIP_META_API
GstMobileClipMeta *gst_buffer_get_mobileclip_meta_for_roi (GstBuffer * buffer,
    gint roi_id);

/* The most probable label, or NULL when the meta holds no results. */
GST_MOBILECLIP_META_API
const GstMobileClipResult *gst_mobileclip_meta_get_top (const GstMobileClipMeta * meta);

/* The label a reader should show: the top label, or "unknown". */
GST_MOBILECLIP_META_API
const gchar *gst_mobileclip_meta_get_label (const GstMobileClipMeta * meta);

/* A structure named `name` (NULL: "mobileclip") with the meta's fields, as
 * the element's messages carry them: label, label-id, confidence, cosine,
 * unknown, pts, roi-id, x, y, width, height, labels, label-ids,
 * probabilities, cosines, fingerprint (see docs/metadata.md). */
GST_MOBILECLIP_META_API
GstStructure *gst_mobileclip_meta_to_structure (const GstMobileClipMeta * meta,
    const gchar * name);

G_END_DECLS

#endif /* __GST_MOBILECLIP_META_H__ */

/* bert.c: BERT-base (Devlin et al., "BERT: Pre-training of Deep
 * Bidirectional Transformers for Language Understanding", 2018): 12 layers,
 * hidden 768, 12 heads of 64, feed-forward 3072, at sequence length 128,
 * float32, following the reference TensorFlow graph op by op at inference
 * (dropout is the identity and disappears). Per-sample shapes are
 * (channels, rows, columns) = (1, tokens, features) or (heads, tokens,
 * tokens) for the attention scores; the head split/merge transposes are
 * folded into the batched matmuls that read them. */
#include <stdio.h>

#include "models.h"

#define BERT_SEQ    128
#define BERT_HIDDEN 768
#define BERT_HEADS  12
#define BERT_FFN    3072
#define BERT_LAYERS 12

static fmap_t bert_dense(model_t *m, const char *layer, const char *what, fmap_t in,
                         size_t features) {
  char label[64];
  snprintf(label, sizeof label, "%s.%s", layer, what);
  return model_op(m, label, &in, 1, 1, in.h, features, 0);
}

static fmap_t bert_unary(model_t *m, const char *layer, const char *what, fmap_t in,
                         unsigned flags) {
  char label[64];
  snprintf(label, sizeof label, "%s.%s", layer, what);
  return model_op(m, label, &in, 1, in.c, in.h, in.w, flags);
}

static fmap_t bert_binary(model_t *m, const char *layer, const char *what, fmap_t a, fmap_t b,
                          size_t c, size_t h, size_t w) {
  char label[64];
  fmap_t inputs[2] = {a, b};
  snprintf(label, sizeof label, "%s.%s", layer, what);
  return model_op(m, label, inputs, 2, c, h, w, 0);
}

/* One encoder layer: self-attention, add & norm, feed-forward, add & norm. */
static fmap_t bert_layer(model_t *m, size_t index, fmap_t x, fmap_t mask_bias) {
  char layer[16];
  snprintf(layer, sizeof layer, "layer%zu", index);
  fmap_t q = bert_dense(m, layer, "query", x, BERT_HIDDEN);
  fmap_t k = bert_dense(m, layer, "key", x, BERT_HIDDEN);
  fmap_t v = bert_dense(m, layer, "value", x, BERT_HIDDEN);
  /* Q K^T per head, scaled by 1/sqrt(64) in the same op. */
  fmap_t scores = bert_binary(m, layer, "scores", q, k, BERT_HEADS, BERT_SEQ, BERT_SEQ);
  fmap_t masked =
      bert_binary(m, layer, "scores_masked", scores, mask_bias, BERT_HEADS, BERT_SEQ, BERT_SEQ);
  fmap_t probs = bert_unary(m, layer, "softmax", masked, 0);
  fmap_t context = bert_binary(m, layer, "context", probs, v, 1, BERT_SEQ, BERT_HIDDEN);
  fmap_t attn = bert_dense(m, layer, "attention_output", context, BERT_HIDDEN);
  fmap_t attn_sum = bert_binary(m, layer, "attention_residual", attn, x, 1, BERT_SEQ, BERT_HIDDEN);
  fmap_t attn_norm = bert_unary(m, layer, "attention_layernorm", attn_sum, 0);
  fmap_t inter = bert_dense(m, layer, "intermediate", attn_norm, BERT_FFN);
  fmap_t gelu = bert_unary(m, layer, "gelu", inter, 0);
  fmap_t out = bert_dense(m, layer, "output", gelu, BERT_HIDDEN);
  fmap_t out_sum =
      bert_binary(m, layer, "output_residual", out, attn_norm, 1, BERT_SEQ, BERT_HIDDEN);
  return bert_unary(m, layer, "output_layernorm", out_sum,
                    index + 1 == BERT_LAYERS ? PM_TENSOR_OUTPUT : 0);
}

void bert_base_build(model_t *m) {
  fmap_t ids = model_input(m, "input_ids", 1, 1, BERT_SEQ);
  fmap_t types = model_input(m, "token_type_ids", 1, 1, BERT_SEQ);
  fmap_t mask = model_input(m, "attention_mask", 1, 1, BERT_SEQ);
  /* (1 - mask) * -10000, broadcast over heads and query rows. */
  fmap_t mask_bias = model_op(m, "mask_bias", &mask, 1, 1, 1, BERT_SEQ, 0);
  fmap_t words = model_op(m, "word_embeddings", &ids, 1, 1, BERT_SEQ, BERT_HIDDEN, 0);
  fmap_t segments = model_op(m, "token_type_embeddings", &types, 1, 1, BERT_SEQ, BERT_HIDDEN, 0);
  fmap_t x = bert_binary(m, "embeddings", "sum", words, segments, 1, BERT_SEQ, BERT_HIDDEN);
  x = bert_unary(m, "embeddings", "position_add", x, 0);
  x = bert_unary(m, "embeddings", "layernorm", x, 0);
  for (size_t layer = 0; layer < BERT_LAYERS; layer++)
    x = bert_layer(m, layer, x, mask_bias);
  /* Pooler: the [CLS] token through a dense layer with tanh. */
  fmap_t cls = model_op(m, "pooler.first_token", &x, 1, 1, 1, BERT_HIDDEN, 0);
  model_op(m, "pooler.dense_tanh", &cls, 1, 1, 1, BERT_HIDDEN, PM_TENSOR_OUTPUT);
}

/* Generated from harness/contracts/training_image.yaml
 * by `python -m harness.contracts.codegen`.
 * The training setup image the host uploads (TRAIN_LOAD) and the device updates in place.
 * Do not edit: change the YAML and regenerate. */
/* clang-format off: the generator's layout is the one the staleness test expects */
#ifndef TRAINING_IMAGE_H
#define TRAINING_IMAGE_H

#include <stdint.h>

#define TRAIN_MAGIC 0x4E525448u /* "HTRN" */
#define TRAIN_VERSION 1u
#define TRAIN_MAX_LAYERS 8u

enum {
    TRAIN_KIND_DENSE = 1,
    TRAIN_KIND_AVGPOOL = 2,
    /* stride 1 or 2, SAME padding, depth multiplier 1 */
    TRAIN_KIND_DEPTHWISE = 3,
    /* k x k full convolution (OHWI weights), stride 1 or 2, SAME padding */
    TRAIN_KIND_CONV = 4,
    /* residual ADD of a[input_ref] and a[skip_ref] (TFLM int8 ADD) */
    TRAIN_KIND_ADD = 5,
};

enum {
    /* quantization-aware scaling of the updates */
    TRAIN_FLAG_QAS = 1,
    /* The chain's input is the bound backbone's output in the engine's arena (TRAIN_BACKBONE):
     * the plan has no input block and samples from the link are refused. */
    TRAIN_FLAG_INPUT_FROM_BACKBONE = 2,
    /* Without operator reordering (for the memory comparison): every update is kept in a float32
     * buffer per trained parameter until backward ends, then applied. The same arithmetic, the
     * same results; only the arena is larger. */
    TRAIN_FLAG_DEFER_UPDATES = 4,
    /* Weight steps round stochastically, floor(v + u) with u in [0, 1) from a counter-based hash
     * of (rounding_seed, step, layer, weight index) (docs/training_spec.md); biases still round
     * to nearest. */
    TRAIN_FLAG_STOCHASTIC_ROUNDING = 8,
};

enum {
    /* off_weights is an offset into the flash model slot */
    TRAIN_RECORD_WEIGHTS_IN_SLOT = 1,
};

typedef struct {
    uint32_t magic;
    uint32_t version;
    uint32_t num_layers;
    uint32_t num_classes;
    uint32_t in_h;
    uint32_t in_w;
    uint32_t in_c;
    uint32_t flags; /* TRAIN_FLAG_* */
    uint32_t budget;
    uint32_t total;         /* bytes of the whole image */
    uint32_t rounding_seed; /* TRAIN_FLAG_STOCHASTIC_ROUNDING's seed */
    uint32_t reserved[5];
} setup_header_t;

typedef struct {
    int32_t kind; /* TRAIN_KIND_* */
    int32_t in_h;
    int32_t in_w;
    int32_t in_c;
    int32_t out_c;
    int32_t input_zp;
    int32_t output_zp;
    int32_t act_min;
    int32_t act_max;
    uint32_t input_scale;  /* float32 bits */
    uint32_t output_scale; /* float32 bits */
    uint32_t lr;           /* float32 bits */
    int32_t train_bias;
    int32_t train_channels;
    uint32_t off_weights; /* in the image, or in the flash slot (TRAIN_RECORD_WEIGHTS_IN_SLOT) */
    uint32_t off_bias;
    uint32_t off_multiplier;
    uint32_t off_shift;
    uint32_t off_weight_scales;
    int32_t kernel_h;     /* depthwise, conv */
    int32_t kernel_w;     /* depthwise, conv */
    int32_t stride;       /* depthwise, conv */
    uint32_t flags;       /* TRAIN_RECORD_* */
    uint32_t off_trained; /* weights in the slot, dense, train_channels R > 0: int8 [Cout][R] */
    int32_t input_ref;    /* the activation read: 0 the chain input, m the output of layer m-1 */
    int32_t skip_ref;     /* add: the second operand's activation (as input_ref); 0 otherwise */
    int32_t skip_zp;      /* add: the second operand's zero point; 0 otherwise */
} layer_record_t;

_Static_assert(sizeof(setup_header_t) == 64, "setup_header layout");
_Static_assert(sizeof(layer_record_t) == 108, "layer_record layout");

#endif /* TRAINING_IMAGE_H */

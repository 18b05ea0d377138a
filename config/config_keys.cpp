// THE list of config keys. Everything else (parsing, errors, to_yaml, to_json, docs/CONFIG.md
// reference) is derived from it; order here is the order in emitted files and docs.
#include "config/config_kinds.h"

namespace nurture::config {

using namespace kinds;

const std::vector<SectionSpec>& config_sections() {
  static const std::vector<SectionSpec> sections{
      {"model", "GPT architecture (nanoGPT-style decoder)."},
      {"data", "Corpus, tokenizer and the train/validation split."},
      {"optim", "AdamW, learning-rate schedule and gradient clipping."},
      {"train", "Loop lengths, batch shape, seeding, threading and logging cadence."},
      {"precision", "Number format for training and the mixed-precision policy."},
      {"output", "Where run artifacts (config, metrics, checkpoints) are written."},
  };
  return sections;
}

const std::vector<KeySpec>& config_keys() {
  static const std::vector<KeySpec> keys = [] {
    std::vector<KeySpec> k{
        // model
        integer(NURTURE_KEY(model, vocab_size), closed(2, 1 << 20),
                "Tokenizer vocabulary size, and rows of the embedding / output matrix."),
        integer(NURTURE_KEY(model, d_model), at_least(1), "Width of the residual stream."),
        integer(NURTURE_KEY(model, n_layer), at_least(1), "Number of transformer blocks."),
        integer(NURTURE_KEY(model, n_head), at_least(1), "Attention heads per block; must divide d_model."),
        integer(NURTURE_KEY(model, seq_len), at_least(1), "Context length in tokens (nanoGPT block_size)."),
        real(NURTURE_KEY(model, dropout), half_open(0, 1),
             "Dropout on the attention and MLP outputs before each residual add (not on embeddings); 0 disables."),
        boolean(NURTURE_KEY(model, bias), "Biases in linear layers and LayerNorms."),
        choice(NURTURE_KEY(model, pos_embedding),
               "Position information: learned table (GPT-2), fixed sinusoids, or ALiBi attention biases."),
        choice(NURTURE_KEY(model, gelu), "GELU variant: tanh approximation (GPT-2) or exact erf."),
        real(NURTURE_KEY(model, init_std), positive(),
             "Std of the normal weight init; residual projections are scaled by 1/sqrt(2*n_layer)."),
        real(NURTURE_KEY(model, ln_eps), positive(),
             "LayerNorm epsilon, added to the variance inside the square root (an imported model's own value)."),

        // data
        text_list(NURTURE_KEY(data, corpus),
                  "Text file(s) or directories of .txt files, relative to the working directory."),
        choice(NURTURE_KEY(data, tokenizer),
               "SentencePiece model type trained on the corpus; gpt2: an imported model's GPT-2 byte-level BPE "
               "(vocab.json and merges.txt next to the checkpoint, written by nurture import hf-gpt2; not trainable)."),
        text(NURTURE_KEY(data, cache_dir),
             "Where the tokenizer and token shards are cached; empty: next to the corpus."),
        real(NURTURE_KEY(data, val_fraction), open(0, 1), "Fraction of the tokens held out for validation."),

        // optim
        real(NURTURE_KEY(optim, lr), positive(), "Peak learning rate, reached after warmup."),
        real(NURTURE_KEY(optim, min_lr), at_least(0), "Final learning rate of the decay schedule; <= lr."),
        integer(NURTURE_KEY(optim, warmup_steps), at_least(0), "Linear warmup from 0 to lr over this many steps."),
        choice(
            NURTURE_KEY(optim, schedule),
            "After warmup: cosine or linear decay from lr to min_lr by the last step; constant lr; or wsd "
            "(warmup-stable-decay: constant lr, then linear decay to min_lr over the last decay_fraction of the run)."),
        real(NURTURE_KEY(optim, decay_fraction), closed(0, 1),
             "wsd only: the decay phase's length as a fraction of train.steps (rounded to whole steps); "
             "checkpoints before it have seen no decayed lr."),
        real(NURTURE_KEY(optim, beta1), half_open(0, 1), "AdamW first-moment decay."),
        real(NURTURE_KEY(optim, beta2), half_open(0, 1), "AdamW second-moment decay."),
        real(NURTURE_KEY(optim, eps), positive(), "AdamW denominator epsilon."),
        real(NURTURE_KEY(optim, weight_decay), at_least(0),
             "Decoupled weight decay for >= 2-D parameters; biases and LayerNorm never decay. Derived when "
             "paper_weight_decay is set."),
        optional_real(NURTURE_KEY(optim, paper_weight_decay), at_least(0), "weight_decay is used as given",
                      "Weight decay as the paper's lambda: sets weight_decay = paper_weight_decay * (paper_lr * "
                      "paper_steps) / (lr * train.steps), the lambda that gives this run the same lr*lambda*T "
                      "(peak lr); a weight_decay given after it wins and makes it null."),
        real(NURTURE_KEY(optim, paper_lr), positive(),
             "Assumed peak lr of the paper-side run that paper_weight_decay refers to."),
        integer(NURTURE_KEY(optim, paper_steps), at_least(1),
                "Assumed optimizer steps of the paper-side run that paper_weight_decay refers to."),
        boolean(NURTURE_KEY(optim, decay_embeddings),
                "Also decay wte/wpe (nanoGPT rule); false excludes embeddings (minGPT rule)."),
        optional_real(NURTURE_KEY(optim, grad_clip), positive(), "disables clipping",
                      "Clip the global L2 gradient norm to this value."),

        // train
        integer(NURTURE_KEY(train, steps), at_least(1), "Optimizer steps to run."),
        integer(NURTURE_KEY(train, batch_size), at_least(1), "Sequences per micro-batch."),
        integer(NURTURE_KEY(train, grad_accum), at_least(1), "Micro-batches accumulated per optimizer step."),
        integer(NURTURE_KEY(train, seed), at_least(0),
                "Seeds init, batch sampling and dropout; same seed + threads gives identical runs."),
        integer(NURTURE_KEY(train, threads), closed(0, 1024), "Worker threads; 0 uses all cores."),
        integer(NURTURE_KEY(train, eval_every), at_least(0), "Validation loss every N steps; 0: only at the end."),
        integer(NURTURE_KEY(train, eval_batches), at_least(1), "Validation micro-batches per evaluation."),
        integer(NURTURE_KEY(train, checkpoint_every), at_least(0),
                "Write a checkpoint every N steps; 0: only at the end."),
        integer(NURTURE_KEY(train, log_every), at_least(1),
                "Print a progress line, and add weight norms and clipping / loss-scale counts to that step's "
                "metrics.jsonl record, every N steps (and at the last)."),

        // precision
        choice(NURTURE_KEY(precision, dtype),
               "Format of GEMM operands, activations and the working copy of the weights."),
        // PyTorch's GradScaler(enabled = dtype == float16): bf16 and fp32 never scale.
        derived_default(loss_scale(NURTURE_KEY(precision, loss_scale),
                                   "Loss scaling: dynamic (GradScaler semantics), none, or a constant factor."),
                        "dynamic for fp16, none otherwise",
                        [](Config& c) {
                          c.precision.loss_scale =
                              c.precision.dtype == precision::Format::fp16 ? LossScale::dynamic() : LossScale::none();
                        }),
        boolean(NURTURE_KEY(precision, layernorm_fp32), "Run LayerNorm in fp32 regardless of dtype."),
        boolean(NURTURE_KEY(precision, softmax_fp32), "Run attention softmax in fp32 regardless of dtype."),
        boolean(NURTURE_KEY(precision, loss_fp32), "Run the output softmax / cross-entropy in fp32."),
        choice(NURTURE_KEY(precision, master_weights),
               "Master weights in fp32, or rounded to the half format after every step (small updates vanish; for "
               "study). AdamW state stays fp32."),
        real(NURTURE_KEY(precision, init_scale), positive(), "Starting scale of the dynamic loss scaler."),
        integer(NURTURE_KEY(precision, growth_interval), at_least(1),
                "Doubles the dynamic scale after this many consecutive finite steps. Derived when "
                "growth_interval_fraction is set."),
        optional_real(NURTURE_KEY(precision, growth_interval_fraction), kinds::Range{0, 1, true, false},
                      "growth_interval is used as given",
                      "growth_interval as a fraction of train.steps: sets growth_interval = max(1, round(fraction * "
                      "train.steps)); 2000/75000 = 0.0267 is PyTorch's default on a 75k-step run. A growth_interval "
                      "given after it wins and makes it null."),
        boolean(NURTURE_KEY(precision, native_gemm),
                "bf16: run the linears' GEMMs and attention's Q·Kᵀ and dY·Vᵀ on native bf16 kernels when the CPU has "
                "AVX512_BF16 (same exact products, fp32 accumulation, another summation order); false: fp32 GEMMs on "
                "rounded operands."),
        real(NURTURE_KEY(precision, min_scale), positive(),
             "A dynamic scale that falls below this stops training with an error (it means gradients overflow at any "
             "scale)."),

        // output
        text(NURTURE_KEY(output, dir), "Run directory for config.yaml, metrics.jsonl and checkpoints."),
        text(NURTURE_KEY(output, name),
             "Free-form run label, saved with the resolved config (not used otherwise yet)."),
    };
    return k;
  }();
  return keys;
}

const KeySpec* find_key(std::string_view path) {
  for (const auto& k : config_keys())
    if (k.path == path) return &k;
  return nullptr;
}

}  // namespace nurture::config

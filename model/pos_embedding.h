// How a GPT learns token positions. A header of its own so that config/ can name the enum
// without the graph and parameter headers of model/gpt.h.
#pragma once

namespace nurture::model {

enum class PosEmbedding { learned, sinusoidal, alibi };
const char* name(PosEmbedding p);

}  // namespace nurture::model

#include "data/batch_sampler.h"

#include <gtest/gtest.h>

#include <numeric>

#include "data/error.h"
#include "data/sequential_windows.h"
#include "data/split.h"

namespace nurture::data {
namespace {

constexpr int T = 8, B = 4;

// Token i has value i, so a window's values reveal where it was taken from.
std::vector<int32_t> iota_tokens(size_t n) {
  std::vector<int32_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

struct Batch {
  std::vector<int32_t> in = std::vector<int32_t>(B * T), tg = std::vector<int32_t>(B * T);
  bool operator==(const Batch&) const = default;
};

Batch draw(BatchSampler& s) {
  Batch b;
  s.next(b.in.data(), b.tg.data());
  return b;
}

TEST(DataBatchSampler, WindowsAreContiguousAndTargetsShifted) {
  const auto tokens = iota_tokens(100);
  BatchSampler s(tokens, T, B, 1);
  for (int step = 0; step < 50; ++step) {
    const Batch b = draw(s);
    for (int r = 0; r < B; ++r) {
      const int32_t start = b.in[r * T];
      ASSERT_GE(start, 0);
      ASSERT_LE(start + T, 99) << "window must fit in the tokens";
      for (int t = 0; t < T; ++t) {
        ASSERT_EQ(b.in[r * T + t], start + t);
        ASSERT_EQ(b.tg[r * T + t], start + t + 1);
      }
    }
  }
}

TEST(DataBatchSampler, ReachesBothEndsWithTheSmallestCorpus) {
  const auto tokens = iota_tokens(T + 2);  // exactly two possible windows
  BatchSampler s(tokens, T, B, 3);
  bool first = false, last = false;
  for (int i = 0; i < 20; ++i) {
    const Batch b = draw(s);
    for (int r = 0; r < B; ++r) (b.in[r * T] == 0 ? first : last) = true;
  }
  EXPECT_TRUE(first && last);
}

TEST(DataBatchSampler, SameSeedSameStreamDifferentSeedDifferentStream) {
  const auto tokens = iota_tokens(10'000);
  BatchSampler a(tokens, T, B, 42), b(tokens, T, B, 42), c(tokens, T, B, 43);
  for (int i = 0; i < 5; ++i) {
    const Batch x = draw(a);
    EXPECT_EQ(x, draw(b));
    EXPECT_NE(x, draw(c));
  }
}

TEST(DataBatchSampler, ResumeFromSavedStateGivesTheIdenticalNextBatch) {
  const auto tokens = iota_tokens(10'000);
  BatchSampler run(tokens, T, B, 7);
  for (int i = 0; i < 13; ++i) draw(run);
  const uint64_t saved = run.state();
  const Batch expected = draw(run);
  const Batch expected2 = draw(run);

  BatchSampler resumed(tokens, T, B, 999);  // seed is irrelevant once the state is restored
  resumed.set_state(saved);
  EXPECT_EQ(draw(resumed), expected);
  EXPECT_EQ(draw(resumed), expected2);
}

TEST(DataBatchSampler, RankSlicesEqualRowsOfTheFullBatchAndStayInLockstep) {
  const auto tokens = iota_tokens(10'000);
  constexpr int kB = 6, kRanks = 3;
  BatchSampler full(tokens, T, kB, 5);
  std::vector<BatchSampler> ranks(kRanks, BatchSampler(tokens, T, kB, 5));
  for (int step = 0; step < 4; ++step) {
    std::vector<int32_t> in(kB * T), tg(kB * T);
    full.next(in.data(), tg.data());
    for (int r = 0; r < kRanks; ++r) {
      const int begin = r * kB / kRanks, end = (r + 1) * kB / kRanks;
      std::vector<int32_t> rin((end - begin) * T), rtg((end - begin) * T);
      ranks[r].next(rin.data(), rtg.data(), begin, end);
      EXPECT_TRUE(std::equal(rin.begin(), rin.end(), in.begin() + begin * T));
      EXPECT_TRUE(std::equal(rtg.begin(), rtg.end(), tg.begin() + begin * T));
      EXPECT_EQ(ranks[r].state(), full.state());
    }
  }
  std::vector<int32_t> buf(kB * T);
  EXPECT_THROW(full.next(buf.data(), buf.data(), 2, kB + 1), std::out_of_range);
}

TEST(DataBatchSampler, TooFewTokensIsAClearError) {
  const auto tokens = iota_tokens(T);
  try {
    BatchSampler s(tokens, T, B, 1);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("corpus smaller than one sequence"), std::string::npos) << e.what();
  }
}

TEST(DataSequentialWindows, CoverTheSpanInOrderWithoutOverlap) {
  const auto tokens = iota_tokens(3 * T + 5);
  const SequentialWindows w(tokens, T);
  ASSERT_EQ(w.size(), 3u);
  std::vector<int32_t> in(T), tg(T);
  for (size_t k = 0; k < w.size(); ++k) {
    w.get(k, in.data(), tg.data());
    EXPECT_EQ(in[0], static_cast<int32_t>(k * T));
    EXPECT_EQ(tg[T - 1], static_cast<int32_t>(k * T + T));
  }
  std::vector<int32_t> bin(4 * T), btg(4 * T);
  EXPECT_EQ(w.get_batch(1, 4, bin.data(), btg.data()), 2);
  EXPECT_EQ(bin[0], T);
  EXPECT_EQ(btg[2 * T - 1], 3 * T);
  EXPECT_THROW(SequentialWindows(iota_tokens(T), T), DataError);
}

TEST(DataSplit, TailIsValidationAndTooSmallSplitsAreReported) {
  const auto tokens = iota_tokens(1000);
  const TokenSplit s = split_tokens(tokens, 0.1);
  EXPECT_EQ(s.train.size(), 900u);
  EXPECT_EQ(s.val.front(), 900);
  EXPECT_EQ(split_tokens(tokens, 0.0).val.size(), 0u);
  EXPECT_THROW(split_tokens(tokens, 1.0), DataError);
  EXPECT_NO_THROW(check_split_fits(s, 99, 0.1));
  try {
    check_split_fits(s, 100, 0.1);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("validation split has 100 tokens < seq_len+1 = 101"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace nurture::data

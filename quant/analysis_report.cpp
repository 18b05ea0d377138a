#include "quant/analysis_report.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace nurture::quant {

namespace {

struct Summary {
  double rmse = 0, token_std = 0, max_abs = 0, spectral = 0, ln_std = 0;
  double qkv_rmse = 0, qkv_token_std = 0, qkv_spectral = 0, ln_1_std = 0, residual_max_abs = 0;
};

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / double(v.size());
}

Summary summarize(const Analysis& a) {
  Summary s;
  std::vector<double> rmse, sd, spec, qrmse, qsd, qspec, ln, ln1;
  for (const LinearReport& l : a.linears) {
    rmse.push_back(l.input.rmse_int8);
    sd.push_back(l.input.token_std);
    spec.push_back(l.spectral.value);
    s.max_abs = std::max(s.max_abs, l.input.max_abs);
    if (l.site == model::LinearSite::qkv) {
      qrmse.push_back(l.input.rmse_int8);
      qsd.push_back(l.input.token_std);
      qspec.push_back(l.spectral.value);
    }
  }
  for (const LayerNormReport& n : a.layer_norms) {
    ln.push_back(n.gain.std);
    if (n.name == "ln_1") ln1.push_back(n.gain.std);
  }
  for (const ResidualReport& r : a.residual) s.residual_max_abs = std::max(s.residual_max_abs, r.max_abs);
  s.rmse = mean_of(rmse);
  s.token_std = mean_of(sd);
  s.spectral = mean_of(spec);
  s.ln_std = mean_of(ln);
  s.qkv_rmse = mean_of(qrmse);
  s.qkv_token_std = mean_of(qsd);
  s.qkv_spectral = mean_of(qspec);
  s.ln_1_std = mean_of(ln1);
  return s;
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

// A table cell: '|' would end the cell (the outlier criteria say |x|).
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string pct(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

}  // namespace

nlohmann::ordered_json to_json(const Analysis& a, const AnalysisSource& src) {
  using J = nlohmann::ordered_json;
  J j;
  j["format"] = "nurture-analysis-v1";
  j["checkpoint"] = src.checkpoint;
  j["step"] = src.step;
  j["precision"] = precision::name(a.precision);
  j["calibration"] = {{"source", a.calibration.source},
                      {"sequences", a.calibration.sequences},
                      {"seq_len", a.calibration.seq_len},
                      {"tokens", a.calibration.tokens},
                      {"description", a.calibration.description}};
  J lin = J::array();
  for (const LinearReport& l : a.linears)
    lin.push_back(
        {{"block", l.block},
         {"site", site_key(l.site)},
         {"module", model::name(l.site)},
         {"input", {{"rmse_int8", l.input.rmse_int8}, {"token_std", l.input.token_std}, {"max_abs", l.input.max_abs}}},
         {"weight",
          {{"spectral_norm", l.spectral.value},
           {"std", l.weight.std},
           {"max_abs", l.weight.max_abs},
           {"spectral_norm_iters", l.spectral.iters},
           {"spectral_norm_converged", l.spectral.converged}}}});
  j["linears"] = lin;
  J lns = J::array();
  for (const LayerNormReport& n : a.layer_norms)
    lns.push_back({{"block", n.block}, {"name", n.name}, {"gain_std", n.gain.std}, {"gain_mean", n.gain.mean}});
  j["layer_norms"] = lns;
  J res = J::array();
  for (const ResidualReport& r : a.residual)
    res.push_back({{"after_block", r.block}, {"max_abs", r.max_abs}, {"token_std", r.token_std}});
  j["residual"] = res;
  J out = J::object();
  for (const OutlierResult& o : a.outliers) {
    J dims = J::array(), per = J::array();
    for (const OutlierDim& d : o.dims) {
      dims.push_back(d.dim);
      per.push_back({{"dim", d.dim}, {"pct_sequences", d.pct_tokens}, {"pct_layers", d.pct_layers}});
    }
    out[name(o.rule)] = {{"rule", o.description},
                         {"dims", dims},
                         {"count", o.dims.size()},
                         {"pct_sequences", o.pct_sequences},
                         {"pct_layers", o.pct_layers},
                         {"candidates", o.candidates},
                         {"per_dim", per}};
  }
  j["outliers"] = out;
  J hs = J::array();
  for (const NamedHistogram& h : a.histograms)
    hs.push_back({{"block", h.block}, {"name", h.name}, {"edges", h.hist.edges}, {"counts", h.hist.counts}});
  j["histograms"] = hs;
  const Summary s = summarize(a);
  // The paper's Figure 5 quantities are the qkv_* and ln_1_* keys. The all_sites_* keys average
  // every block linear (including the post-GELU mlp_proj input) and every LayerNorm (ln_2, ln_f
  // too); the unprefixed names before them are the same all-site numbers, kept for readers of
  // older files.
  j["summary"] = {{"rmse_int8_mean", s.rmse},
                  {"token_std_mean", s.token_std},
                  {"max_abs", s.max_abs},
                  {"ln_gain_std_mean", s.ln_std},
                  {"spectral_norm_mean", s.spectral},
                  {"outliers_llm_int8", a.outliers[0].dims.size()},
                  {"outliers_fixed", a.outliers[1].dims.size()},
                  {"outliers_adaptive", a.outliers[2].dims.size()},
                  {"qkv_rmse_int8_mean", s.qkv_rmse},
                  {"qkv_token_std_mean", s.qkv_token_std},
                  {"qkv_spectral_norm_mean", s.qkv_spectral},
                  {"ln_1_gain_std_mean", s.ln_1_std},
                  {"all_sites_rmse_int8_mean", s.rmse},
                  {"all_sites_token_std_mean", s.token_std},
                  {"all_sites_spectral_norm_mean", s.spectral},
                  {"all_sites_ln_gain_std_mean", s.ln_std},
                  {"residual_max_abs", s.residual_max_abs}};
  return j;
}

std::string to_markdown(const Analysis& a, const AnalysisSource& src) {
  const Summary s = summarize(a);
  std::ostringstream o;
  o << "# Weight and activation analysis\n\n"
    << "Checkpoint `" << src.checkpoint << "` (step " << src.step << "). Calibration: " << a.calibration.sequences
    << " sequences x " << a.calibration.seq_len << " tokens (" << a.calibration.tokens << " tokens) of "
    << (a.calibration.source == "heldout" ? "held-out" : a.calibration.source) << " text, "
    << precision::name(a.precision) << " forward (parameters rounded to " << precision::name(a.precision)
    << ", as ptq's baseline).\n\n";
  // The paper's Figure 5 quantities first; the all-site averages are a different (broader) number.
  o << "## Summary (Figure 5: means over blocks)\n\n| metric | value |\n|---|---|\n"
    << "| attn-kqv-proj input: RMSE(X, X^) per-token int8 | " << num(s.qkv_rmse) << " |\n"
    << "| attn-kqv-proj input: token STD | " << num(s.qkv_token_std) << " |\n"
    << "| ln_1 gain STD | " << num(s.ln_1_std) << " |\n"
    << "| attn.c_attn weight: spectral norm | " << num(s.qkv_spectral) << " |\n\n"
    << "## All-site averages (not Figure 5)\n\n| metric | value |\n|---|---|\n"
    << "| mean RMSE(X, X^) per-token int8, all four linear inputs | " << num(s.rmse) << " |\n"
    << "| mean token STD of X, all four linear inputs | " << num(s.token_std) << " |\n"
    << "| mean spectral norm, all block linear weights | " << num(s.spectral) << " |\n"
    << "| mean gain STD, every LayerNorm (ln_1, ln_2, ln_f) | " << num(s.ln_std) << " |\n"
    << "| max abs x over linear inputs | " << num(s.max_abs) << " |\n"
    << "| max abs x in the residual stream | " << num(s.residual_max_abs) << " |\n\n";
  o << "## Outlier dimensions (Table 5)\n\n"
    << "| rule | criterion | # outlier dims | % sequences affected | % layers affected | dims |\n"
    << "|---|---|---|---|---|---|\n";
  for (const OutlierResult& r : a.outliers) {
    std::string dims;
    for (size_t i = 0; i < r.dims.size() && i < 16; ++i) dims += (i ? ", " : "") + std::to_string(r.dims[i].dim);
    if (r.dims.size() > 16) dims += ", ...";
    o << "| " << name(r.rule) << " | " << cell(r.description) << " | " << r.dims.size() << " | " << pct(r.pct_sequences)
      << " | " << pct(r.pct_layers) << " | " << (dims.empty() ? "-" : dims) << " |\n";
  }
  o << "\n## Linear layers\n\n"
    << "| block | site | RMSE int8 | token STD | max abs x | spectral norm | W std | W max abs |\n"
    << "|---|---|---|---|---|---|---|---|\n";
  for (const LinearReport& l : a.linears)
    o << "| " << l.block << " | " << site_key(l.site) << " | " << num(l.input.rmse_int8) << " | "
      << num(l.input.token_std) << " | " << num(l.input.max_abs) << " | " << num(l.spectral.value) << " | "
      << num(l.weight.std) << " | " << num(l.weight.max_abs) << " |\n";
  o << "\n## LayerNorm gains\n\n| block | name | gain mean | gain STD |\n|---|---|---|---|\n";
  for (const LayerNormReport& n : a.layer_norms)
    o << "| " << n.block << " | " << n.name << " | " << num(n.gain.mean) << " | " << num(n.gain.std) << " |\n";
  o << "\n## Residual stream\n\n| after block | max abs x | token STD |\n|---|---|---|\n";
  for (const ResidualReport& r : a.residual)
    o << "| " << (r.block < 0 ? std::string("embeddings") : std::to_string(r.block)) << " | " << num(r.max_abs) << " | "
      << num(r.token_std) << " |\n";
  o << "\nHistograms of attn.c_attn.weight, ln_1.weight and ln_2.weight per block (Figure 4) are in "
       "analysis.json; nurture report draws them (plots/fig4_histograms.png).\n";
  return o.str();
}

std::filesystem::path default_analysis_dir(const std::filesystem::path& checkpoint) {
  const std::filesystem::path parent = checkpoint.parent_path();
  if (parent.filename() == "checkpoints") return parent.parent_path() / "analysis" / checkpoint.stem();
  std::filesystem::path p = checkpoint;
  p += ".analysis";
  return p;
}

}  // namespace nurture::quant

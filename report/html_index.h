// index.html: the whole report on one self-contained page (inline CSS, no scripts, images by
// relative path), so it opens from disk or from a copied directory without a server.
#pragma once

#include <string>
#include <vector>

#include "report/plot_gnuplot.h"
#include "report/report_data.h"
#include "report/report_table.h"

namespace nurture::report {

// `sections` are summary_sections(); `plots` link to plots/<name>.png next to index.html.
std::string index_html(const RunTree& tree, const std::vector<Section>& sections, const std::vector<Plot>& plots,
                       const std::string& command);

}  // namespace nurture::report

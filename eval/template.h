// Field templates for JSONL task files: "Question: {goal}\nAnswer:" fills {goal} from the
// line's JSON object. A placeholder may pipe the value through filters: {ctx_b|capitalize}.
// Filters: capitalize (Python str.capitalize: first letter upper, the rest lower), lower, upper,
// strip, lcfirst, ucfirst. "{{" and "}}" are literal braces. Numbers are printed as JSON.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace nurture::eval {

// "" when the template is well formed, else what is wrong with it.
std::string check_template(const std::string& tmpl);

// Fills the template from `obj`. Throws EvalError "<where>: field 'x': ..." when a field is
// missing or is not a string or number.
std::string render_template(const std::string& tmpl, const nlohmann::json& obj, const std::string& where);

// lm-eval hellaswag/utils.py preprocess: strip; " [title]" → ". "; drop "[...]" spans; "  " → " ".
std::string hellaswag_preprocess(const std::string& text);

// Python's str.capitalize for ASCII: first character upper case, the rest lower case.
std::string py_capitalize(const std::string& s);

}  // namespace nurture::eval

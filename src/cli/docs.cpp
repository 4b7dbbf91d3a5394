#include "cli/docs.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>

namespace luamig::cli {
namespace {
// Escapes text for roff: backslashes, and a leading dot or quote.
std::string roff(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out = "\\&" + out;
  return out;
}

std::string option_label(const CLI::Option* o) {
  std::string label;
  for (const auto& sn : o->get_snames()) label += (label.empty() ? "-" : ", -") + sn;
  for (const auto& l : o->get_lnames()) label += (label.empty() ? "--" : ", --") + l;
  if (o->get_items_expected_max() != 0 && !o->get_lnames().empty()) label += " " + o->get_option_text();
  return label;
}

std::vector<std::string> flags_of(const CLI::App& app) {
  std::vector<std::string> names;
  for (const auto* o : app.get_options()) {
    for (const auto& l : o->get_lnames()) names.push_back("--" + l);
    for (const auto& sn : o->get_snames()) names.push_back("-" + sn);
  }
  return names;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string t;
  for (const auto& x : v) t += (t.empty() ? "" : sep) + x;
  return t;
}

// Flags that take a value, so that completion does not offer verbs after them.
std::vector<std::string> valued_flags(const CLI::App& app) {
  std::vector<std::string> names;
  for (const auto* o : app.get_options()) {
    if (o->get_items_expected_max() == 0 || o->get_positional()) continue;
    for (const auto& l : o->get_lnames()) names.push_back("--" + l);
    for (const auto& sn : o->get_snames()) names.push_back("-" + sn);
  }
  return names;
}

// Which verbs take a revision as their argument.
bool takes_revision(const std::string& verb) {
  return verb == "upgrade" || verb == "downgrade" || verb == "show" || verb == "stamp" || verb == "merge";
}

const CLI::App* subcommand(const CLI::App& app, const std::string& name) {
  for (const auto* s : app.get_subcommands({}))
    if (s->get_name() == name) return s;
  return nullptr;
}
}  // namespace

std::vector<std::string> visible_verbs(const CLI::App& app) {
  std::vector<std::string> verbs;
  for (const auto* s : app.get_subcommands({}))
    if (!s->get_group().empty()) verbs.push_back(s->get_name());
  return verbs;
}

std::string man_page(const CLI::App& app) {
  std::string t;
  t += fmt::format(".TH LUAMIG 1 \"\" \"luamig {}\" \"User Commands\"\n", LUAMIG_VERSION);
  t += ".SH NAME\nluamig \\- " + roff(app.get_description().substr(app.get_description().find(':') + 2)) +
       "\n";
  t += ".SH SYNOPSIS\n.B luamig\n[\\fIGLOBAL OPTIONS\\fR] \\fIVERB\\fR [\\fIARGS\\fR]\n";
  t +=
      ".SH DESCRIPTION\n" + roff(app.get_description()) +
      ".\nData (revision ids, listings, JSON, SQL scripts) is written to standard output; notices, progress, "
      "logs, warnings and errors to standard error.\n";
  t += ".SH GLOBAL OPTIONS\n";
  for (const auto* o : app.get_options()) {
    if (o->get_lnames().empty() && o->get_snames().empty()) continue;
    t += ".TP\n.B " + roff(option_label(o)) + "\n" + roff(o->get_description()) + "\n";
  }
  t += ".SH COMMANDS\n";
  for (const auto* s : app.get_subcommands({})) {
    if (s->get_group().empty()) continue;
    std::string positionals;
    for (const auto* o : s->get_options())
      if (o->get_positional()) positionals += " \\fI" + roff(o->get_name()) + "\\fR";
    t += ".SS \"" + s->get_name() + "\"\n.B luamig " + s->get_name() + "\\fR" + positionals + "\n.PP\n" +
         roff(s->get_description()) + "\n";
    for (const auto* o : s->get_options()) {
      if (o->get_lnames().empty() && o->get_snames().empty() && !o->get_positional()) continue;
      if (o->get_name() == "--help" || o->get_name() == "-h,--help") continue;
      std::string label = o->get_positional() ? o->get_name() : option_label(o);
      if (label.find("help") != std::string::npos) continue;
      t += ".TP\n.B " + roff(label) + "\n" + roff(o->get_description()) + "\n";
    }
    for (const auto* sub : s->get_subcommands({}))
      t += ".TP\n.B " + s->get_name() + " " + sub->get_name() + "\n" + roff(sub->get_description()) + "\n";
  }
  t += ".SH ENVIRONMENT\n"
       ".TP\n.B DATABASE_URL\nDatabase URL when neither \\-\\-url nor the config file sets one.\n"
       ".TP\n.B LUAMIG_CONFIG\nConfig file (default: luamig.lua here or in the nearest parent directory).\n"
       ".TP\n.B LUAMIG_ENV\nEnvironment of luamig.lua to use.\n"
       ".TP\n.B NO_COLOR\nA non-empty value disables colour.\n"
       ".TP\n.B CLICOLOR_FORCE\nA non-empty value other than 0 forces colour (NO_COLOR wins).\n"
       ".TP\n.B TERM\n\\fBdumb\\fR disables colour.\n";
  t += ".SH EXIT STATUS\n.TP\n.B 0\nSuccess.\n.TP\n.B 1\nA migration or database failure; `check`: not at "
       "head.\n.TP\n.B 2\nA usage, configuration or revision-graph error.\n";
  t += ".SH SEE ALSO\nThe README of luamig; \\fBluamig \\-\\-help\\fR.\n";
  return t;
}

std::string completion_script(const CLI::App& app, const std::string& shell) {
  auto verbs = visible_verbs(app);
  auto globals = flags_of(app);
  auto valued = valued_flags(app);
  std::string t;
  if (shell == "bash") {
    t += "# bash completion for luamig; load with: source <(luamig completion bash)\n";
    t += "_luamig() {\n  local cur prev verb i w\n  cur=\"${COMP_WORDS[COMP_CWORD]}\"\n"
         "  prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n  verb=\"\"\n";
    t += "  for ((i=1; i<COMP_CWORD; i++)); do\n    w=\"${COMP_WORDS[i]}\"\n    case \"$w\" in\n";
    t += "      " + join(valued, "|") + ") ((i++)) ;;\n";
    t += "      -*) ;;\n      *) verb=\"$w\"; break ;;\n    esac\n  done\n";
    t += "  case \"$prev\" in\n    -e|--env) COMPREPLY=($(compgen -W \"$(luamig list-names environments "
         "2>/dev/null)\" -- \"$cur\")); return ;;\n";
    t += "    -c|--config) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n  esac\n";
    t +=
        "  if [[ -z \"$verb\" ]]; then\n    if [[ \"$cur\" == -* ]]; then\n      COMPREPLY=($(compgen -W \"" +
        join(globals, " ") + "\" -- \"$cur\"))\n    else\n      COMPREPLY=($(compgen -W \"" +
        join(verbs, " ") + "\" -- \"$cur\"))\n    fi\n    return\n  fi\n";
    t += "  case \"$verb\" in\n";
    for (const auto& v : verbs) {
      const auto* s = subcommand(app, v);
      auto f = flags_of(*s);
      f.insert(f.end(), globals.begin(), globals.end());
      t += "    " + v + ")\n      if [[ \"$cur\" == -* ]]; then COMPREPLY=($(compgen -W \"" + join(f, " ") +
           "\" -- \"$cur\"))\n";
      if (takes_revision(v))
        t += "      else COMPREPLY=($(compgen -W \"head heads base $(luamig list-names revisions "
             "2>/dev/null)\" "
             "-- \"$cur\"))\n";
      else if (v == "completion")
        t += "      else COMPREPLY=($(compgen -W \"bash zsh fish\" -- \"$cur\"))\n";
      else if (v == "init" || v == "editor-support")
        t += "      else COMPREPLY=($(compgen -d -- \"$cur\"))\n";
      else if (v == "env")
        t += "      else COMPREPLY=($(compgen -W \"show list\" -- \"$cur\"))\n";
      t += "      fi ;;\n";
    }
    t += "  esac\n}\ncomplete -F _luamig luamig\n";
  } else if (shell == "zsh") {
    t += "#compdef luamig\n# zsh completion for luamig; load with: source <(luamig completion zsh)\n";
    t += "_luamig() {\n  local -a verbs\n  verbs=(\n";
    for (const auto& v : verbs) {
      std::string d = subcommand(app, v)->get_description();
      for (auto& c : d)
        if (c == '\'' || c == ':') c = ' ';
      t += "    '" + v + ":" + d + "'\n";
    }
    t += "  )\n  local verb=\"\" i w\n  for ((i=2; i<CURRENT; i++)); do\n    w=\"${words[i]}\"\n"
         "    case \"$w\" in\n      " +
         join(valued, "|") + ") ((i++)) ;;\n      -*) ;;\n      *) verb=\"$w\"; break ;;\n    esac\n  done\n";
    t +=
        "  case \"${words[CURRENT-1]}\" in\n    -e|--env) compadd -- ${(f)\"$(luamig list-names environments "
        "2>/dev/null)\"}; return ;;\n    -c|--config) _files; return ;;\n  esac\n";
    t += "  if [[ -z \"$verb\" ]]; then\n    if [[ \"$PREFIX\" == -* ]]; then compadd -- " +
         join(globals, " ") + "; else _describe 'verb' verbs; fi\n    return\n  fi\n";
    t += "  case \"$verb\" in\n";
    for (const auto& v : verbs) {
      auto f = flags_of(*subcommand(app, v));
      f.insert(f.end(), globals.begin(), globals.end());
      t += "    " + v + ")\n      if [[ \"$PREFIX\" == -* ]]; then compadd -- " + join(f, " ") + "\n";
      if (takes_revision(v))
        t += "      else compadd -- head heads base ${(f)\"$(luamig list-names revisions 2>/dev/null)\"}\n";
      else if (v == "completion")
        t += "      else compadd -- bash zsh fish\n";
      else if (v == "init" || v == "editor-support")
        t += "      else _files -/\n";
      else if (v == "env")
        t += "      else compadd -- show list\n";
      t += "      fi ;;\n";
    }
    t += "  esac\n}\nif [[ \"$funcstack[1]\" == \"_luamig\" ]]; then _luamig \"$@\"; else compdef _luamig "
         "luamig; fi\n";
  } else {
    t += "# fish completion for luamig; load with: luamig completion fish | source\n";
    t += "complete -c luamig -f\n";
    t += "set -l luamig_verbs " + join(verbs, " ") + "\n";
    for (const auto& v : verbs) {
      std::string d = subcommand(app, v)->get_description();
      for (auto& c : d)
        if (c == '\'') c = ' ';
      t += "complete -c luamig -n \"not __fish_seen_subcommand_from $luamig_verbs\" -a " + v + " -d '" + d +
           "'\n";
    }
    for (const auto* o : app.get_options()) {
      std::string spec;
      for (const auto& l : o->get_lnames()) spec += " -l " + l;
      for (const auto& sn : o->get_snames()) spec += " -s " + sn;
      if (spec.empty()) continue;
      std::string d = o->get_description().substr(0, o->get_description().find('('));
      for (auto& c : d)
        if (c == '\'') c = ' ';
      t +=
          "complete -c luamig" + spec + (o->get_items_expected_max() != 0 ? " -r" : "") + " -d '" + d + "'\n";
    }
    t += "complete -c luamig -s e -l env -x -a '(luamig list-names environments 2>/dev/null)'\n";
    for (const auto& v : verbs) {
      const auto* s = subcommand(app, v);
      for (const auto* o : s->get_options()) {
        std::string spec;
        for (const auto& l : o->get_lnames()) spec += " -l " + l;
        for (const auto& sn : o->get_snames()) spec += " -s " + sn;
        if (spec.empty() || spec.find("help") != std::string::npos) continue;
        t += "complete -c luamig -n \"__fish_seen_subcommand_from " + v + "\"" + spec + "\n";
      }
      if (takes_revision(v))
        t += "complete -c luamig -n \"__fish_seen_subcommand_from " + v +
             "\" -a 'head heads base (luamig list-names revisions 2>/dev/null)'\n";
      else if (v == "completion")
        t += "complete -c luamig -n \"__fish_seen_subcommand_from completion\" -a 'bash zsh fish'\n";
      else if (v == "env")
        t += "complete -c luamig -n \"__fish_seen_subcommand_from env\" -a 'show list'\n";
    }
  }
  return t;
}
}  // namespace luamig::cli

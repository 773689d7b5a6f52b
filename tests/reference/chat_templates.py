#!/usr/bin/python3
"""Golden renderings of real chat templates by Jinja2, configured exactly as transformers' apply_chat_template configures it.

Run with Debian's python and python3-jinja2 (apt-get install -y python3-jinja2; /usr/bin/python3 tests/reference/chat_templates.py).
Writes tests/Aha.Tests/Tokenizer/Golden/chat_templates.json: every case's template file, variables and expected text (or the
error the template raises). CI never runs this; the C# tests read its committed output.

The environment mirrors transformers.utils.chat_template_utils: ImmutableSandboxedEnvironment(trim_blocks=True,
lstrip_blocks=True, extensions=[AssistantTracker, loopcontrols]); a `tojson` filter over json.dumps(ensure_ascii=False, ...);
the globals raise_exception and strftime_now; render(messages=..., tools=None, documents=None, add_generation_prompt=...,
**special_tokens_map, **kwargs), where special tokens whose value is None are left out as special_tokens_map leaves them out.
"""
import json
import os
import sys
from datetime import datetime

import jinja2
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATES = os.path.join(HERE, "..", "Aha.Tests", "Tokenizer", "Templates")
OUT = os.path.join(HERE, "..", "Aha.Tests", "Tokenizer", "Golden", "chat_templates.json")
SNIPPETS_OUT = os.path.join(HERE, "..", "Aha.Tests", "Tokenizer", "Golden", "jinja_snippets.json")


class Generation(Extension):
    """{% generation %}...{% endgeneration %} renders its body unchanged (transformers' AssistantTracker, tracking off)."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[Generation, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


QWEN = {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}
DEEPSEEK = {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>", "pad_token": "<｜end▁of▁sentence｜>"}
TEMPLATE_TOKENS = {
    "qwen2.5-instruct.jinja": QWEN,
    "qwen3.jinja": QWEN,
    "deepseek-r1-distill-qwen.jinja": DEEPSEEK,
    "deepseek-v3.jinja": DEEPSEEK,
    "llama3.jinja": {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"},
    "llama3.1-instruct.jinja": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "llama3.2-instruct.jinja": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "aha-byte.jinja": {"bos_token": "<|bos|>", "eos_token": "<|eos|>", "pad_token": "<|pad|>"},
}

THINK = "<think>\nFirst, 3 times 4 is 12.\nCheck: 12 / 4 = 3.\n</think>\n\nThe answer is 12."
CONVERSATIONS = {
    "user": [{"role": "user", "content": "What is 2+2?"}],
    "system_user": [{"role": "system", "content": "You are a careful assistant."},
                    {"role": "user", "content": "Name a prime number."}],
    "multi_turn": [{"role": "system", "content": "Answer briefly."},
                   {"role": "user", "content": "Hi!"},
                   {"role": "assistant", "content": "Hello. How can I help?"},
                   {"role": "user", "content": "Count to three."}],
    "think_in_history": [{"role": "user", "content": "Solve 3*4."},
                         {"role": "assistant", "content": THINK},
                         {"role": "user", "content": "And 5*6?"}],
    "think_last": [{"role": "user", "content": "Solve 3*4."},
                   {"role": "assistant", "content": THINK}],
    "reasoning_content": [{"role": "user", "content": "2+2?"},
                          {"role": "assistant", "content": "\n\nIt is 4.", "reasoning_content": "\nAdd two and two.\n"},
                          {"role": "user", "content": "3+3?"},
                          {"role": "assistant", "content": "6"}],
    "unicode_whitespace": [{"role": "user", "content": "  héllo 世界 🙂\tnaïve\n\n  "},
                           {"role": "assistant", "content": "  Ok.  \n"}],
    "two_systems": [{"role": "system", "content": "Rule one."},
                    {"role": "system", "content": "Rule two."},
                    {"role": "user", "content": "Go."}],
    "empty_user": [{"role": "user", "content": ""}],
    "template_syntax_in_content": [{"role": "user", "content": "Use {{ braces }}, {% tags %}, {# notes #}, a \\ backslash, 'single' and \"double\" quotes."}],
}
ERROR_CASES = [
    ("aha-byte.jinja", "bad_role", [{"role": "tool", "content": "x"}]),
]
# Extra keyword arguments (apply_chat_template(..., builtin_tools=[...])) exercising a template's optional branches.
VARIABLE_CASES = [
    ("llama3.1-instruct.jinja", "builtin_tools", "system_user", {"date_string": "26 Jul 2024", "builtin_tools": ["brave_search", "code_interpreter", "wolfram_alpha"]}),
]


def cases():
    for template in TEMPLATE_TOKENS:
        for conv_name, messages in CONVERSATIONS.items():
            for gen in (True, False):
                thinking = (None, True, False) if template == "qwen3.jinja" else (None,)
                dates = ("26 Jul 2024", "09 Mar 2025") if template.startswith("llama3.") else (None,)
                for enable_thinking in thinking:
                    for date in dates:
                        if date == "09 Mar 2025" and conv_name != "system_user":
                            continue
                        name = f"{template[:-6]}/{conv_name}/{'gen' if gen else 'nogen'}"
                        if enable_thinking is not None:
                            name += f"/thinking_{str(enable_thinking).lower()}"
                        if date == "09 Mar 2025":
                            name += "/date"
                        variables = {"date_string": date} if date else {}
                        yield name, template, messages, gen, enable_thinking, variables
    for template, conv_name, messages in ERROR_CASES:
        yield f"{template[:-6]}/{conv_name}/gen", template, messages, True, None, {}
    for template, case_name, conv_name, variables in VARIABLE_CASES:
        yield f"{template[:-6]}/{conv_name}/gen/{case_name}", template, CONVERSATIONS[conv_name], True, None, variables


D = {"b": 1, "a": [1, "x"], "n": {"k": None, "f": 2.5, "t": True, "s": "é\"\n"}}
XS = [1, 2, 3]
M = {"role": "assistant", "content": None,
     "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"a": 1, "b": "é"}}}]}
VARS = {"d": D, "xs": XS, "m": M}

# Small templates that pin the interpreter's semantics one construct at a time; rendered with the same environment and
# arguments as the chat templates, plus VARS. A case whose render raises records the exception type instead of text.
SNIPPETS = {
    "lstrip_trim_blocks": "a\n  {% if true %}\n    b\n  {% endif %}\nc",
    "dash_both_sides": "{%- if true -%}  x  {%- endif -%}  y",
    "comment_trim": "line1  {# comment #}\nline2\n  {# indented comment #}\nline3",
    "plus_keeps_lstrip": "  {{ 'x' }}  \n  {%+ if true %}k{% endif %}",
    "crlf_and_trailing_newline": "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\n",
    "loop_in_lines": "{% for x in xs %}\n  {{ x }}\n{% endfor %}\n",
    "dash_then_text": "  {%- if true %}a{% endif -%}  \n b",
    "comment_dashes": "x{#- c -#}  y",
    "tab_lstrip": "\t{% if true %}t{% endif %}\n\t {{ 'v' }}",
    "variable_dashes": "a  {{- 'b' -}}  c",
    "block_after_variable_same_line": "{{ 'v' }}  {% if true %}w{% endif %}",
    "loop_vars": "{% for x in ['a','b','c'] %}{{ loop.index0 }}{{ loop.index }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }}|{% endfor %}",
    "loop_filter_else": "{% for x in [1,2,3,4] if x is even %}{{ x }}/{{ loop.index }}/{{ loop.length }} {% else %}none{% endfor %}{% for x in [] %}y{% else %}empty{% endfor %}",
    "loop_prev_next": "{% for x in xs %}{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }};{% endfor %}",
    "dict_iteration": "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}{% for k, v in d|items %}{{ v }}{% endfor %}",
    "namespace": "{% set ns = namespace(n=0, s='') %}{% for x in [1,2,3] %}{% set ns.n = ns.n + x %}{% set ns.s = ns.s ~ x %}{% set t = x %}{% endfor %}{{ ns.n }}|{{ ns.s }}|{{ t is defined }}",
    "set_scoping": "{% set x = 1 %}{% for i in [5] %}{% set x = i %}{{ x }}{% endfor %}{{ x }}{% if true %}{% set y = 2 %}{% endif %}{{ y }}",
    "undefined": "[{{ nope }}][{{ nope is defined }}][{{ d.missing }}][{{ d.missing is none }}][{{ nope | length }}][{% for x in nope %}x{% endfor %}][{{ nope or 'fallback' }}][{{ nope | default('dflt') }}][{{ '' | default('e', true) }}][{{ xs[10] is defined }}][{{ not nope }}][{{ nope == nope }}]",
    "python_str": "{{ none }} {{ true }} {{ 1.0 }} {{ 1.5e20 }} {{ 0.0001 }} {{ 1e-5 }} {{ 123.456 }} {{ [1, 'a', none, true, \"it's\"] }} {{ d }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 6 / 3 }} {{ 2 ** 10 }} {{ 'ab' * 3 }} {{ 1 + 2.5 }} {{ 'x' ~ 1 ~ none }} {{ -(3) }} {{ 10 - 2 - 3 }}",
    "string_methods": "{{ '  a b  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith(('x','c')) }}|{{ 'aXa'.replace('a', 'b') }}|{{ 'Hi'.upper() }}{{ 'Hi'.lower() }}|{{ 'hello world'.title() }}|{{ 'x</think>y</think>z'.split('</think>')[-1] }}|{{ '\\n\\nq'.lstrip('\\n') }}|{{ 'q\\n\\n'.rstrip('\\n') }}|{{ 'h\u00e9llo\U0001F642'[::-1] }}|{{ 'h\u00e9llo\U0001F642' | length }}|{{ 'abcdef'[1:4] }}{{ 'abcdef'[-2:] }}{{ 'abcdef'[::2] }}{{ 'abcdef'[-1] }}{{ 'abcdef'[10:] }}|{{ '-'.join(['a', 'b']) }}",
    "lists": "{{ xs[0] }}{{ xs[-1] }}{{ xs[1:] }}{{ xs[::-1] }}{{ xs[:-1] }}{{ xs[5:1:-1] }}{{ xs | length }}{{ xs | first }}{{ xs | last }}{{ xs | join('-') }}{{ xs | join }}{{ 2 in xs }}{{ 9 not in xs }}{{ 'b' in 'abc' }}{{ 'a' in d }}{{ 'zz' not in d }}{{ xs + [4] }}{{ [] | first is defined }}",
    "tojson": "{{ d | tojson }}|{{ d | tojson(indent=2) }}|{{ '\u00e9\"\\\\\\n\\t\\x01\U0001F642' | tojson }}|{{ [] | tojson }}|{{ {} | tojson(indent=4) }}|{{ [1.5, true, none, 10] | tojson }}|{{ d | tojson(sort_keys=true) }}|{{ xs | tojson(separators=(',', ':')) }}",
    "tests": "{{ 'a' is string }}{{ d is mapping }}{{ xs is iterable }}{{ 'a' is iterable }}{{ 1 is number }}{{ none is none }}{{ 1 is not none }}{{ xs is sequence }}{{ 3 is odd }}{{ 4 is divisibleby 2 }}{{ 4 is divisibleby(3) }}{{ 'a' is eq 'a' }}{{ true is true }}{{ 1 is integer }}{{ 1.0 is float }}{{ nope is undefined }}{{ d.a is defined }}{{ xs is mapping }}{{ none is string }}{{ true is boolean }}{{ 'ab' is lower }}",
    "logic": "{{ 1 < 2 < 3 }}{{ 3 > 2 > 2 }}{{ 1 == 1.0 }}{{ true == 1 }}{{ 'a' < 'b' }}{{ 2 >= 2.0 }}{{ not 1 }}{{ 0 or '' or 'z' }}{{ 1 and 2 }}{{ none and 1 }}{{ 'x' if false }}|{{ 'y' if true else 'n' }}|{{ (1 if false else 2) + 1 }}|{{ not xs[0] == 1 }}|{{ 1 != 2 and not false }}",
    "filters": "{{ '  t  ' | trim }}|{{ 'xtx' | trim('x') }}|{{ 'AbC' | lower }}{{ 'AbC' | upper }}|{{ 'aaa' | replace('a', 'b', 2) }}|{{ 3 | string }}{{ '42' | int + 1 }}{{ 'x' | int }}{{ '2.5' | float }}{{ 2.9 | int }}|{{ -3 | abs }}|{{ 'hello WORLD' | capitalize }}|{{ [3,1,2] | reverse | list }}|{{ 'abc' | list }}|{{ 'abc' | reverse }}|{{ d | length }}|{{ d | first }}|{{ 1 | string + 'x' }}|{{ 'a' ~ 1 | string }}",
    "macro": "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', punct='?') }} {{ greet(name='C') }}|{{ greet() }}|",
    "loop_controls": "{% for x in [1,2,3,4,5] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}",
    "generation": "a{% generation %}b{{ 1 }}{% endgeneration %}c\n{% generation %}\nd\n{% endgeneration %}\ne",
    "string_literals": "{{ 'a\\tb\\u00e9\\x41\\'q\\\"' }}{{ \"dq'\" }}{{ 'a' 'b' }}{{ '\\d' }}",
    "nested_access": "{{ m.tool_calls[0].function.name }}|{{ m['tool_calls'][0]['function']['arguments'] | tojson }}|{{ m.get('x', 'dflt') }}|{{ m.get('role') }}|{{ m.get('nope') }}|{{ m.keys() | list }}|{{ m.content is none }}|{{ m.content }}|{{ m.values() | length }}|{{ 'tool_calls' in m }}|{{ xs.0 }}",
    "unicode_whitespace": "{{ '\u00a0x\u3000' | trim }}|{{ '\u2003y\\n'.strip() }}|{{ '\u2028a'.split() }}",
    "dict_literal": "{% set e = {'k': 1, 'z': [1], 'k2': {'in': none}} %}{{ e }}{{ e.k }}{{ e['z'] }}{{ e.k2['in'] }}{{ {} }}{{ e | length }}",
    "range_and_dict": "{% for i in range(3) %}{{ i }}{% endfor %}{{ range(1, 7, 2) | list }}{{ range(3, 0, -1) | list }}{{ dict(a=1) }}",
    "select_reject_map": "{{ xs | select('odd') | list }}{{ xs | reject('equalto', 2) | join(',') }}{{ xs | select | first }}{{ [m] | selectattr('role', 'equalto', 'assistant') | list | length }}{{ [m, {'role': 'user'}] | rejectattr('content') | map(attribute='role') | join('+') }}{{ m.tool_calls | map(attribute='function.name') | list }}{{ ['a', 'B'] | map('upper') | join }}{{ 2 in xs | select('even') }}",
    "error_generator_length": "{{ xs | select('odd') | length }}",
    "conditional_in_output": "{{ 'a' + ('b' if xs else 'c') }}{{ xs[0] if xs | length > 5 else 'short' }}",
    "set_in_loop_across_iterations": "{% set x = 1 %}{% for i in [1,2] %}{{ x }}{% set x = i * 10 %}{{ x }};{% endfor %}{{ x }}",
    "nested_loops": "{% for a in [1,2] %}{% for b in [3, 4] %}{{ loop.index }}{% endfor %}{{ loop.index }}{{ loop.length }}|{% endfor %}",
    "multiline_tag_and_empty_if": "{% if\n true %}x{% endif %}{% if true %}  \n{% endif %}y\n{{ 'a' }}\n{% if true %}\nb{% endif %}",
    "empty_namespace": "{% set ns = namespace() %}{% set ns.a = 1 %}{{ ns.a }}{{ ns.b is defined }}",
    "trailing_newlines": "a\n\n",
    "lstrip_after_text_on_line": "x {% if true %}y{% endif %}\n   {% if true %}z{% endif %}",
    "comment_multiline": "a{# line one\nline two #}b\n{#- x -#}\nc",
    "error_undefined_attribute": "{{ nope.x }}",
    "error_undefined_plus": "{{ nope + 1 }}",
    "error_str_plus_int": "{{ 'a' + 1 }}",
    "error_raise": "{% if true %}{{ raise_exception('boom: ' ~ xs[0]) }}{% endif %}",
    "error_undefined_call": "{{ nope() }}",
    "error_set_attr_on_dict": "{% set d.x = 1 %}",
}


def snippets(env):
    out = []
    for name, text in SNIPPETS.items():
        case = {"name": name, "template": text}
        try:
            case["expected"] = env.from_string(text).render(messages=[], tools=None, documents=None, add_generation_prompt=True, **VARS)
        except Exception as e:
            case["error"] = type(e).__name__
            case["message"] = str(e)
        out.append(case)
    with open(SNIPPETS_OUT, "w", encoding="utf-8", newline="\n") as f:
        json.dump({"jinja2": jinja2.__version__, "variables": VARS, "cases": out}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{len(out)} snippets -> {os.path.relpath(SNIPPETS_OUT)}")


def main():
    env = environment()
    compiled = {}
    out = []
    for name, template, messages, gen, enable_thinking, variables in cases():
        if template not in compiled:
            with open(os.path.join(TEMPLATES, template), encoding="utf-8", newline="") as f:
                compiled[template] = env.from_string(f.read())
        kwargs = dict(TEMPLATE_TOKENS[template])
        if enable_thinking is not None:
            kwargs["enable_thinking"] = enable_thinking
        kwargs.update(variables)
        case = {"name": name, "template": template, "messages": messages, "add_generation_prompt": gen,
                "enable_thinking": enable_thinking, "variables": variables, "special_tokens": TEMPLATE_TOKENS[template]}
        try:
            case["expected"] = compiled[template].render(messages=messages, tools=None, documents=None,
                                                         add_generation_prompt=gen, **kwargs)
        except jinja2.exceptions.TemplateError as e:
            case["error"] = str(e)
        out.append(case)
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        json.dump({"jinja2": jinja2.__version__, "python": sys.version.split()[0], "cases": out}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{len(out)} cases -> {os.path.relpath(OUT)}")
    snippets(env)


if __name__ == "__main__":
    main()

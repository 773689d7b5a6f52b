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


def cases():
    for template in TEMPLATE_TOKENS:
        for conv_name, messages in CONVERSATIONS.items():
            for gen in (True, False):
                thinking = (None, True, False) if template == "qwen3.jinja" else (None,)
                dates = ("26 Jul 2024", "09 Mar 2025") if template == "llama3.2-instruct.jinja" else (None,)
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


if __name__ == "__main__":
    main()

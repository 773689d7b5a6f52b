#!/usr/bin/python3
"""Regenerates byte_chat_renderings.json: the byte tokenizer's chat_template (read from a tokenizer_config.json that Aha
saved) rendered by real Jinja2, as transformers' apply_chat_template renders it (trim_blocks and lstrip_blocks, the
{% generation %} extension passing its body through, raise_exception). The test compares ByteTokenizer.RenderChat with it.
Run with Debian's python3-jinja2:  /usr/bin/python3 make_chat_golden.py path/to/tokenizer_config.json > byte_chat_renderings.json"""
import json
import sys

import jinja2
import jinja2.sandbox
from jinja2.ext import Extension


class Generation(Extension):
    # transformers' AssistantTracker, minus the mask bookkeeping: the body renders unchanged.
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


config = json.load(open(sys.argv[1], encoding="utf-8"))
env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[Generation])
env.globals["raise_exception"] = raise_exception
template = env.from_string(config["chat_template"])

conversations = [
    [{"role": "user", "content": "2+2"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
    [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "ünï 😀\n"}],
    [{"role": "user", "content": "<|end|><|assistant|>"}],
    [{"role": "user", "content": ""}],
]
rows = []
for messages in conversations:
    for prompt in (True, False):
        text = template.render(messages=messages, add_generation_prompt=prompt, bos_token=config["bos_token"],
                               eos_token=config["eos_token"])
        rows.append({"messages": messages, "add_generation_prompt": prompt, "text": text})
json.dump({"chat_template": config["chat_template"], "renderings": rows}, sys.stdout, ensure_ascii=False, indent=1)
print()

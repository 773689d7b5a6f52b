using System.Text;
using System.Text.Json.Nodes;
using Aha.Tokenizer;
using Aha.Tokenizer.Jinja;

namespace Aha.Faults;

/// <summary>
/// Fuzz targets for a Hugging Face tokenizer folder: a small synthetic byte-level BPE <c>tokenizer.json</c> (Qwen-like:
/// 256 byte symbols, a few merges, ChatML added tokens) and a <c>tokenizer_config.json</c> with a chat template; one of
/// the two is mutated, loaded through <see cref="TokenizerLoader"/>, and used to encode text and render a chat. Also the
/// chat template text alone, rendered by <see cref="ChatTemplateRenderer"/>.
/// </summary>
public static class HfTokenizerFuzz
{
    /// <summary>A ChatML template with a system default, loop state, a filter and a generation prompt (no numbers, so no mutation asks for a huge range).</summary>
    public const string ChatTemplate =
        "{%- if messages[0]['role'] == 'system' %}{{ '<|im_start|>system\\n' + messages[0]['content'] | trim + '<|im_end|>\\n' }}" +
        "{%- else %}{{ '<|im_start|>system\\nYou are helpful.<|im_end|>\\n' }}{%- endif %}" +
        "{%- for message in messages %}{%- if message.role != 'system' or not loop.first %}" +
        "{{ '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endif %}{%- endfor %}" +
        "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}";

    static readonly ChatMessage[] Conversation =
    [
        new("system", "Answer briefly."), new("user", "What is 12+30? héllo"), new("assistant", "<think>12+30=42</think> 42"), new("user", "thé end"),
    ];

    /// <summary>The seed tokenizer.json: byte-level BPE over the 256 byte symbols, merges 'Ġ t', 'h e', '1 2', ChatML added tokens.</summary>
    public static string TokenizerJson()
    {
        var vocab = new JsonObject();
        var symbols = TokenizerFiles.ByteToUnicode;
        for (int b = 0; b < symbols.Count; b++) vocab[symbols[b]] = b;
        string[] merges = ["Ġ t", "h e", "1 2"];
        foreach (string merge in merges) vocab[merge.Replace(" ", "", StringComparison.Ordinal)] = vocab.Count;
        var added = new JsonArray();
        foreach (string token in new[] { "<|endoftext|>", "<|im_start|>", "<|im_end|>" })
            added.Add(new JsonObject
            {
                ["id"] = vocab.Count + added.Count, ["content"] = token, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                ["normalized"] = false, ["special"] = true,
            });
        var byteLevel = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = true };
        return new JsonObject
        {
            ["version"] = "1.0", ["truncation"] = null, ["padding"] = null, ["added_tokens"] = added, ["normalizer"] = null,
            ["pre_tokenizer"] = byteLevel.DeepClone(), ["post_processor"] = byteLevel.DeepClone(), ["decoder"] = byteLevel.DeepClone(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false, ["vocab"] = vocab,
                ["merges"] = new JsonArray([.. merges.Select(m => (JsonNode)m)]),
            },
        }.ToJsonString(new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary>The seed tokenizer_config.json: Qwen2's class, EOS &lt;|im_end|&gt;, pad &lt;|endoftext|&gt;, no BOS, <see cref="ChatTemplate"/>.</summary>
    public static string TokenizerConfigJson() => new JsonObject
    {
        ["tokenizer_class"] = "Qwen2TokenizerFast", ["bos_token"] = null, ["eos_token"] = "<|im_end|>", ["pad_token"] = "<|endoftext|>",
        ["model_max_length"] = 128, ["chat_template"] = ChatTemplate,
    }.ToJsonString(new() { WriteIndented = true });

    /// <summary>Loads the folder as every command does, encodes text holding added tokens, renders and encodes the chat, decodes.</summary>
    static void Use(string directory)
    {
        var tokenizer = TokenizerLoader.Load(directory);
        int[] ids = tokenizer.Encode("the 12+30=42 <|im_end|> héllo 😀", addSpecialTokens: true);
        _ = tokenizer.Decode(ids);
        _ = tokenizer.RenderChat(Conversation, new ChatOptions { AddGenerationPrompt = true });
        _ = tokenizer.Decode(tokenizer.EncodeChat(Conversation), skipSpecialTokens: true);
    }

    /// <summary>Writes <paramref name="text"/> as <paramref name="fileName"/> beside <paramref name="mutated"/> (the fixed half of the pair).</summary>
    static void Beside(string mutated, string fileName, string text) =>
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(mutated)!, fileName), text);

    // Rejections name a file of the folder: tokenizer.json or tokenizer_config.json (a BOS named there but missing from the vocabulary, say).
    static bool InFolder(string message, string path) => message.Contains(Path.GetDirectoryName(path) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    // A template error is a JinjaTemplateException; a tokenizer without a template is InvalidOperationException (ITokenizer.EncodeChat documents both).
    static readonly Type[] TokenizerRejections = [typeof(InvalidDataException), typeof(JinjaTemplateException), typeof(InvalidOperationException)];

    /// <summary>The three targets: HF tokenizer.json, HF tokenizer_config.json, and the chat template text.</summary>
    public static IEnumerable<FuzzTarget> Targets()
    {
        string tokenizerJson = TokenizerJson(), configJson = TokenizerConfigJson();
        yield return new("HF tokenizer.json (byte-level BPE)", Path.Combine("hf-tokenizer", TokenizerFiles.TokenizerJson), Encoding.UTF8.GetBytes(tokenizerJson),
            p => { Beside(p, "tokenizer_config.json", configJson); Use(Path.GetDirectoryName(p)!); }, TokenizerRejections, InFolder);
        yield return new("HF tokenizer_config.json (chat template)", Path.Combine("hf-config", "tokenizer_config.json"), Encoding.UTF8.GetBytes(configJson),
            p => { Beside(p, TokenizerFiles.TokenizerJson, tokenizerJson); Use(Path.GetDirectoryName(p)!); }, TokenizerRejections, InFolder);
        yield return new("Jinja chat template", "chat_template.jinja", Encoding.UTF8.GetBytes(ChatTemplate),
            p => ChatTemplateRenderer.Render(File.ReadAllText(p), p, Conversation, new ChatOptions { AddGenerationPrompt = true },
                new Dictionary<string, object?> { ["eos_token"] = "<|im_end|>", ["bos_token"] = null }),
            [typeof(JinjaTemplateException), typeof(InvalidDataException)], (message, path) => message.Contains(path, StringComparison.Ordinal));
    }
}

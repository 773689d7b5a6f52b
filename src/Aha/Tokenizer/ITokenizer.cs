namespace Aha.Tokenizer;

/// <summary>
/// The one tokenizer seam: every command and trainer takes its tokenizer from the checkpoint folder
/// (<c>TokenizerLoader.Load</c>) and uses only this. Semantics follow Hugging Face's <c>PreTrainedTokenizerFast</c>.
/// </summary>
public interface ITokenizer
{
    /// <summary>Ids the model's embedding must cover: the highest id plus one (model vocabulary and added tokens).</summary>
    int VocabSize { get; }
    /// <summary>Begin-of-text id, or null when the tokenizer has none (Qwen).</summary>
    int? BosId { get; }
    /// <summary>End-of-text id (<c>eos_token</c> of tokenizer_config.json), or null.</summary>
    int? EosId { get; }
    /// <summary>Padding id; falls back to <see cref="EosId"/> when the tokenizer declares none, as trainers usually do.</summary>
    int PadId { get; }
    /// <summary>
    /// Ids that end an assistant turn: end of text and the chat template's end-of-turn token (e.g. <c>&lt;|im_end|&gt;</c>,
    /// <c>&lt;|eot_id|&gt;</c>, <c>&lt;|end|&gt;</c>), plus any <c>eos_token_id</c> of generation_config.json in the same folder.
    /// </summary>
    IReadOnlyList<int> StopIds { get; }

    /// <summary>
    /// Ids of <paramref name="text"/> as <c>tokenizer(text, add_special_tokens=addSpecialTokens)</c> gives them: added
    /// tokens written in the text become one id each; with <paramref name="addSpecialTokens"/> the post-processor's
    /// tokens (BOS where declared) are added.
    /// </summary>
    int[] Encode(string text, bool addSpecialTokens = false);

    /// <summary>Text of <paramref name="ids"/> as <c>tokenizer.decode(ids, skip_special_tokens=…)</c>.</summary>
    string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false);

    /// <summary>The id of a token by its text (<c>&lt;think&gt;</c>, <c>&lt;|im_end|&gt;</c>, <c>Ġthe</c>), or null.</summary>
    int? TokenToId(string token);

    /// <summary>The text of the token <paramref name="id"/> in the vocabulary's own alphabet, or null when out of range.</summary>
    string? IdToToken(int id);

    /// <summary>True for special added tokens (those <c>skip_special_tokens</c> removes).</summary>
    bool IsSpecial(int id);

    /// <summary>
    /// Prompt ids of a conversation as <c>apply_chat_template(messages, tokenize=True, …)</c> gives them, rendered with the
    /// checkpoint's own chat template. Throws with the fix when the tokenizer has no template.
    /// </summary>
    int[] EncodeChat(IReadOnlyList<ChatMessage> messages, ChatOptions? options = null);

    /// <summary>The rendered text of a conversation, as <c>apply_chat_template(messages, tokenize=False, …)</c>.</summary>
    string RenderChat(IReadOnlyList<ChatMessage> messages, ChatOptions? options = null);

    /// <summary>
    /// Ids of a whole conversation for supervised fine-tuning and, per id, whether the loss trains on it: each assistant
    /// message's content and its end-of-turn token(s), never the role header the prompt supplies at inference.
    /// </summary>
    (int[] Ids, bool[] IsCompletion) EncodeChatForTraining(IReadOnlyList<ChatMessage> messages);

    /// <summary>Writes this tokenizer's Hugging Face files (tokenizer.json, tokenizer_config.json, …) into <paramref name="directory"/>.</summary>
    void Save(string directory);
}

/// <summary>Options of <see cref="ITokenizer.EncodeChat"/>, named as transformers' <c>apply_chat_template</c> names them.</summary>
public sealed record ChatOptions
{
    /// <summary>End with the open assistant header so the model writes the next turn.</summary>
    public bool AddGenerationPrompt { get; init; } = true;
    /// <summary>Qwen3's <c>enable_thinking</c>; null leaves the variable undefined, as transformers does when it is not passed.</summary>
    public bool? EnableThinking { get; init; }
    /// <summary>Further template variables (e.g. <c>date_string</c> for Llama 3.x), passed through as keyword arguments are.</summary>
    public IReadOnlyDictionary<string, object?>? Variables { get; init; }
}

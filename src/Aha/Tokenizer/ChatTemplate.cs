namespace Aha.Tokenizer;

/// <summary>
/// <see cref="ByteTokenizer"/>'s chat template: <c>&lt;|bos|&gt;</c>, then per message its role token, its content and
/// <c>&lt;|end|&gt;</c>. A generation prompt ends with <c>&lt;|assistant|&gt;</c>; the model's turn ends at
/// <c>&lt;|end|&gt;</c>. The Jinja template saved in tokenizer_config.json renders the same text.
/// </summary>
/// <remarks>Message content is encoded as plain bytes, so a user who types "&lt;|end|&gt;" cannot end a turn or forge a role.</remarks>
static class ChatTemplate
{
    /// <summary>The same template in Jinja, as written to tokenizer_config.json's <c>chat_template</c>.</summary>
    public static string Jinja => TokenizerFiles.JinjaChatTemplate;

    /// <summary>Ids of the whole conversation; with <paramref name="addGenerationPrompt"/>, ends with <c>&lt;|assistant|&gt;</c> for the model to continue.</summary>
    public static int[] Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = false)
    {
        var (ids, _) = RenderWithMask(messages, addGenerationPrompt);
        return ids;
    }

    /// <summary>The conversation as text, special tokens written out: what the Jinja template renders.</summary>
    public static string RenderText(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = false)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var text = new System.Text.StringBuilder(ByteTokenizer.SpecialText(ByteTokenizer.Bos));
        for (int i = 0; i < messages.Count; i++)
            text.Append(ByteTokenizer.SpecialText(RoleId(messages, i))).Append(Content(messages, i)).Append(ByteTokenizer.SpecialText(ByteTokenizer.End));
        if (addGenerationPrompt) text.Append(ByteTokenizer.SpecialText(ByteTokenizer.Assistant));
        return text.ToString();
    }

    /// <summary>
    /// Ids for supervised fine-tuning and, per id, whether it is a completion token the loss should train on:
    /// each assistant message's content and its closing <c>&lt;|end|&gt;</c> (so the model learns to stop);
    /// never the role token <c>&lt;|assistant|&gt;</c>, which the prompt supplies at inference.
    /// </summary>
    public static (int[] Ids, bool[] IsCompletion) RenderForTraining(IReadOnlyList<ChatMessage> messages) =>
        RenderWithMask(messages, addGenerationPrompt: false);

    static int RoleId(IReadOnlyList<ChatMessage> messages, int i) => messages[i].Role switch
    {
        "system" => ByteTokenizer.System,
        "user" => ByteTokenizer.User,
        "assistant" => ByteTokenizer.Assistant,
        _ => throw new ArgumentException($"messages[{i}].role is '{messages[i].Role}'; expected {string.Join(", ", ChatMessage.Roles)}.", nameof(messages)),
    };

    static string Content(IReadOnlyList<ChatMessage> messages, int i) =>
        messages[i].Content ?? throw new ArgumentException($"messages[{i}].content is null.", nameof(messages));

    static (int[] Ids, bool[] IsCompletion) RenderWithMask(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var ids = new List<int> { ByteTokenizer.Bos };
        var mask = new List<bool> { false };
        for (int i = 0; i < messages.Count; i++)
        {
            int role = RoleId(messages, i);
            bool completion = role == ByteTokenizer.Assistant;
            ids.Add(role);
            mask.Add(false);
            int[] content = ByteTokenizer.EncodeBytes(Content(messages, i));
            ids.AddRange(content);
            ids.Add(ByteTokenizer.End);
            mask.AddRange(Enumerable.Repeat(completion, content.Length + 1));
        }
        if (addGenerationPrompt)
        {
            ids.Add(ByteTokenizer.Assistant);
            mask.Add(false);
        }
        return ([.. ids], [.. mask]);
    }
}

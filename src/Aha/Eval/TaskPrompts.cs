using Aha.Tasks;
using Aha.Tokenizer;

namespace Aha.Eval;

/// <summary>
/// A task's problem as the model reads it, so evaluation and training encode prompts identically.
/// R1Zero and Short are text after <c>&lt;|bos|&gt;</c>; Chat uses the tokenizer's own chat template (role tokens
/// <c>&lt;|system|&gt;</c> … <c>&lt;|assistant|&gt;</c>) rather than ChatML text, since those are the ids a chat-tuned
/// byte model was trained on.
/// </summary>
public static class TaskPrompts
{
    /// <summary>Prompt token ids, starting with bos.</summary>
    public static int[] Ids(ITask task, TaskItem item, PromptStyle style)
    {
        if (style == PromptStyle.Chat)
            return ChatTemplate.Render(Prompts.Messages(item.Prompt).Select(m => new Tokenizer.ChatMessage(m.Role, m.Content)).ToList(), addGenerationPrompt: true);
        return [ByteTokenizer.Bos, .. ByteTokenizer.Default.Encode(task.Render(item, style))];
    }

    /// <summary>The prompt as text for reports: the ids decoded without bos (role tokens shown as <c>&lt;|user|&gt;</c> etc.).</summary>
    public static string Text(ITask task, TaskItem item, PromptStyle style) =>
        ByteTokenizer.Default.Decode(Ids(task, item, style).Skip(1));
}

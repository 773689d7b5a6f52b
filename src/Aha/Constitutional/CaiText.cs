using Aha.Tokenizer;

namespace Aha.Constitutional;

/// <summary>
/// The texts a model reads in Constitutional AI. Plain text for a local model (the short template of Aha's tasks goes
/// first; labels kept short so a byte model's whole exchange fits a 256-token context):
/// <c>User: What is 47+38?\nAssistant: &lt;answer&gt;75&lt;/answer&gt;\nQ: Is the sum right?\nC: 7+8=15, 4+3+1=8, so 85, not 75.\nQ: Fix the sum.\nR: …</c>
/// and the judgement <c>…\n(A) …\n(B) …\nQ: Which sum is right?\nAnswer: (</c>, whose next token is the choice.
/// Chat messages (the paper's multiple-choice wording) for a judge behind an OpenAI-compatible endpoint.
/// </summary>
public static class CaiText
{
    /// <summary>What ends a critique.</summary>
    public const string CritiqueEnd = "\n";
    /// <summary>The judge's choice tokens follow this.</summary>
    public const string AnswerOpen = "\nAnswer: (";

    /// <summary>The prompt the model critiques a response in; the critique follows.</summary>
    public static string Critique(string prompt, string response, Principle principle) =>
        $"{prompt}{response}\nQ: {principle.Critique}\nC:";

    /// <summary>The prompt the model revises in (the critique prompt and its critique); the revised response follows.</summary>
    public static string Revision(string critiquePrompt, string critique, Principle principle) =>
        $"{critiquePrompt} {critique.Trim()}\nQ: {principle.Revision}\nR:";

    /// <summary>The multiple-choice judgement; the next token is <c>A</c> or <c>B</c>.</summary>
    public static string Judgement(string prompt, string a, string b, Principle principle) =>
        $"{prompt}\n(A){Spaced(a)}\n(B){Spaced(b)}\nQ: {principle.Choice}{AnswerOpen}";

    /// <summary>The paper's feedback-model question as chat messages, for a chat model behind an endpoint.</summary>
    public static IReadOnlyList<ChatMessage> JudgementMessages(string prompt, string a, string b, Principle principle) =>
    [
        new("user",
            "Consider the following conversation between a human and an assistant:\n\n" + prompt.Trim() + "\n\n" +
            principle.Choice + "\n\nOptions:\n(A) " + a.Trim() + "\n(B) " + b.Trim() + "\n\n" +
            "Reply with the letter of the better option only: A or B."),
    ];

    /// <summary>The choice letter a reply or token stands for: <c>A</c>, <c>(B</c>, <c> B)</c>, <c>Option A</c> → 'A'/'B'; anything else null.</summary>
    public static char? Choice(string text)
    {
        string t = text.Trim().TrimStart('(', '*', '[').Trim();
        if (t.StartsWith("Option ", StringComparison.OrdinalIgnoreCase)) t = t[7..].TrimStart('(');
        if (t.Length == 0) return null;
        char c = char.ToUpperInvariant(t[0]);
        if (c is not ('A' or 'B')) return null;
        return t.Length == 1 || !char.IsLetterOrDigit(t[1]) ? c : null; // "Apple" is not a choice
    }

    static string Spaced(string response) => response.StartsWith(' ') ? response : " " + response;
}

using System.Text.Json;
using Aha.Tokenizer;

namespace Aha.Preferences;

/// <summary>One row of each <see cref="PreferenceFormat"/> to pairs; a problem is an <see cref="InvalidDataException"/> naming the field and the fix.</summary>
static class PreferenceRows
{
    /// <summary>HH-RLHF's turn marker: the prompt runs up to and including the last one.</summary>
    public const string AssistantMarker = "\n\nAssistant:";

    public static PreferenceFormat Detect(JsonElement row)
    {
        if (row.TryGetProperty("completions", out _)) return PreferenceFormat.UltraFeedback;
        if (row.TryGetProperty("chosen", out var chosen))
        {
            if (chosen.ValueKind == JsonValueKind.Array) return PreferenceFormat.Conversational;
            if (chosen.ValueKind == JsonValueKind.String)
                return row.TryGetProperty("prompt", out _) ? PreferenceFormat.Standard : PreferenceFormat.HhRlhf;
        }
        var fields = string.Join(", ", row.EnumerateObject().Select(p => p.Name).Take(10));
        throw new InvalidDataException($"cannot tell the preference format from the fields ({fields}): expected prompt/chosen/rejected (TRL), " +
                                       "chosen/rejected transcripts (HH-RLHF) or prompt + completions with scores (UltraFeedback); rename the fields or give the format explicitly");
    }

    public static IEnumerable<PreferencePair> Parse(JsonElement row, PreferenceFormat format, PreferencePairing pairing) => format switch
    {
        PreferenceFormat.Standard => [Scored(row, PreferencePair.Text(Text(row, "prompt"), Text(row, "chosen"), Text(row, "rejected")))],
        PreferenceFormat.Conversational => [Scored(row, Conversation(row))],
        PreferenceFormat.HhRlhf => [HhRlhf(row)],
        PreferenceFormat.UltraFeedback => UltraFeedback(row, pairing),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "pick a concrete format or Auto."),
    };

    /// <summary>
    /// The margin a binarized row carries (UltraFeedback binarized: score_chosen/score_rejected; Argilla:
    /// chosen_rating/rejected_rating), and the verifier's verdicts when the row has chosen_correct/rejected_correct.
    /// </summary>
    static PreferencePair Scored(JsonElement row, PreferencePair pair)
    {
        if (Flag(row, "chosen_correct") is { } chosenCorrect && Flag(row, "rejected_correct") is { } rejectedCorrect)
            pair = pair with { Correct = (chosenCorrect, rejectedCorrect) };
        if (row.TryGetProperty("chosen_probability", out var soft))
        {
            if (soft.ValueKind != JsonValueKind.Number || soft.GetDouble() is var p && (p < 0 || p > 1 || double.IsNaN(p)))
                throw new InvalidDataException($"field \"chosen_probability\" is {(soft.ValueKind == JsonValueKind.Number ? soft.GetDouble().ToString(System.Globalization.CultureInfo.InvariantCulture) : Kind(soft))}, " +
                                               "expected a probability in [0, 1] that the chosen answer is the better one (drop the field for a hard label)");
            pair = pair with { ChosenProbability = soft.GetDouble() };
        }
        foreach (var (good, bad) in new[] { ("score_chosen", "score_rejected"), ("chosen_rating", "rejected_rating") })
            if (Number(row, good) is { } g && Number(row, bad) is { } b) return pair with { Margin = g - b };
        return pair;
    }

    /// <summary>
    /// TRL conversational. With a <c>prompt</c> list, chosen and rejected are the assistant turn that follows it. Without one
    /// (or with a prompt string beside full conversations, as UltraFeedback binarized has) the messages both share are the
    /// prompt and what differs must be one assistant message each.
    /// </summary>
    static PreferencePair Conversation(JsonElement row)
    {
        var chosen = Messages(row, "chosen");
        var rejected = Messages(row, "rejected");
        if (row.TryGetProperty("prompt", out var p) && p.ValueKind == JsonValueKind.Array)
        {
            var prompt = Messages(row, "prompt");
            return PreferencePair.Chat(prompt, Reply(chosen, "chosen", "the assistant turn after the prompt"), Reply(rejected, "rejected", "the assistant turn after the prompt"));
        }
        int shared = 0;
        while (shared < chosen.Count - 1 && shared < rejected.Count - 1 && chosen[shared] == rejected[shared]) shared++;
        if (shared == 0)
            throw new InvalidDataException("fields \"chosen\" and \"rejected\" share no messages and there is no \"prompt\" list; add the prompt messages to both, or a \"prompt\" field");
        string what = $"one assistant message after the {shared} shared message(s)";
        return PreferencePair.Chat(chosen.Take(shared).ToList(), Reply(chosen.Skip(shared).ToList(), "chosen", what), Reply(rejected.Skip(shared).ToList(), "rejected", what));
    }

    static string Reply(IReadOnlyList<ChatMessage> turn, string field, string expected)
    {
        if (turn is [{ Role: "assistant" } only]) return only.Content;
        throw new InvalidDataException($"field \"{field}\" holds {turn.Count} message(s) ({string.Join(", ", turn.Select(m => m.Role))}) where {expected} belongs; " +
                                       "keep only the judged assistant reply there");
    }

    /// <summary>HH-RLHF: both transcripts share everything up to their last "\n\nAssistant:"; the replies follow it (leading space kept, as TRL keeps it).</summary>
    static PreferencePair HhRlhf(JsonElement row)
    {
        string chosen = Text(row, "chosen"), rejected = Text(row, "rejected");
        int c = chosen.LastIndexOf(AssistantMarker, StringComparison.Ordinal), r = rejected.LastIndexOf(AssistantMarker, StringComparison.Ordinal);
        if (c < 0 || r < 0)
            throw new InvalidDataException($"field \"{(c < 0 ? "chosen" : "rejected")}\" has no \"\\n\\nAssistant:\" turn, so the prompt cannot be told from the reply; " +
                                           "HH-RLHF rows are full \"\\n\\nHuman: … \\n\\nAssistant: …\" transcripts (give a \"prompt\" field for TRL's standard format)");
        string prompt = chosen[..(c + AssistantMarker.Length)];
        if (prompt != rejected[..(r + AssistantMarker.Length)])
            throw new InvalidDataException("fields \"chosen\" and \"rejected\" differ before their last \"\\n\\nAssistant:\", so they answer different conversations; " +
                                           "both must repeat the same dialogue and differ only in the final reply");
        return PreferencePair.Text(prompt, chosen[prompt.Length..], rejected[prompt.Length..]);
    }

    /// <summary>
    /// UltraFeedback: <c>prompt</c> (or <c>instruction</c>) and <c>completions</c>, each a string with a parallel <c>ratings</c>
    /// (or <c>scores</c>) list, or an object with the text in <c>response</c>/<c>text</c>/<c>content</c> and the score in
    /// <c>overall_score</c>/<c>score</c>/<c>rating</c>. Equal scores give no pair.
    /// </summary>
    static IEnumerable<PreferencePair> UltraFeedback(JsonElement row, PreferencePairing pairing)
    {
        string prompt = row.TryGetProperty("prompt", out _) || !row.TryGetProperty("instruction", out _) ? Text(row, "prompt") : Text(row, "instruction");
        if (!row.TryGetProperty("completions", out var list) || list.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"field \"completions\" is {Kind(row, "completions")}, expected a list of completions");
        var ratingsField = new[] { "ratings", "scores" }.FirstOrDefault(f => row.TryGetProperty(f, out _));
        var ratings = ratingsField is null ? null : NumberList(row, ratingsField);
        var scored = new List<(string Text, double Score)>();
        int i = 0;
        foreach (var item in list.EnumerateArray())
        {
            string at = $"completions[{i}]";
            if (item.ValueKind == JsonValueKind.String)
            {
                if (ratings is null) throw new InvalidDataException($"field \"{at}\" is text but the row has no \"ratings\" list; add one score per completion");
                if (i >= ratings.Count) throw new InvalidDataException($"field \"{ratingsField}\" has {ratings.Count} scores for more completions; give one score per completion");
                scored.Add((item.GetString()!, ratings[i]));
            }
            else if (item.ValueKind == JsonValueKind.Object)
            {
                var textField = new[] { "response", "text", "content" }.FirstOrDefault(f => item.TryGetProperty(f, out _))
                    ?? throw new InvalidDataException($"field \"{at}\" has no \"response\", \"text\" or \"content\"");
                double score = ratings is not null && i < ratings.Count ? ratings[i]
                    : new[] { "overall_score", "score", "rating" }.Select(f => Number(item, f)).FirstOrDefault(s => s is not null)
                      ?? throw new InvalidDataException($"field \"{at}\" has no numeric \"overall_score\", \"score\" or \"rating\", and the row no \"ratings\" list");
                scored.Add((Text(item, textField, $"{at}."), score));
            }
            else throw new InvalidDataException($"field \"{at}\" is {Kind(item)}, expected text or an object with the completion and its score");
            i++;
        }
        if (ratings is not null && ratings.Count != scored.Count)
            throw new InvalidDataException($"field \"{ratingsField}\" has {ratings.Count} scores for {scored.Count} completions; give one score per completion");
        if (scored.Count < 2) throw new InvalidDataException($"field \"completions\" has {scored.Count} completion(s); a pair needs at least two");

        if (pairing == PreferencePairing.BestVsWorst)
        {
            var best = scored.MaxBy(s => s.Score);
            var worst = scored.MinBy(s => s.Score);
            if (best.Score > worst.Score) yield return PreferencePair.Text(prompt, best.Text, worst.Text) with { Margin = best.Score - worst.Score };
            yield break;
        }
        for (int a = 0; a < scored.Count; a++)
            for (int b = a + 1; b < scored.Count; b++)
            {
                if (scored[a].Score == scored[b].Score) continue;
                var (hi, lo) = scored[a].Score > scored[b].Score ? (scored[a], scored[b]) : (scored[b], scored[a]);
                yield return PreferencePair.Text(prompt, hi.Text, lo.Text) with { Margin = hi.Score - lo.Score };
            }
    }

    static List<ChatMessage> Messages(JsonElement row, string field)
    {
        if (!row.TryGetProperty(field, out var array)) throw new InvalidDataException($"field \"{field}\" is missing");
        if (array.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"field \"{field}\" is {Kind(array)}, expected a list of {{\"role\", \"content\"}} messages");
        var messages = new List<ChatMessage>();
        foreach (var m in array.EnumerateArray())
        {
            string at = $"{field}[{messages.Count}]";
            if (m.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"field \"{at}\" is {Kind(m)}, expected an object with \"role\" and \"content\"");
            string role = Text(m, "role", at + ".");
            if (!ChatMessage.Roles.Contains(role)) throw new InvalidDataException($"field \"{at}.role\" is \"{role}\", expected {string.Join(", ", ChatMessage.Roles)}");
            messages.Add(new ChatMessage(role, Text(m, "content", at + ".")));
        }
        if (messages.Count == 0) throw new InvalidDataException($"field \"{field}\" is an empty list");
        return messages;
    }

    static string Text(JsonElement row, string field, string prefix = "")
    {
        if (!row.TryGetProperty(field, out var value)) throw new InvalidDataException($"field \"{prefix}{field}\" is missing");
        return value.ValueKind == JsonValueKind.String ? value.GetString()!
            : throw new InvalidDataException($"field \"{prefix}{field}\" is {Kind(value)}, expected a string");
    }

    static double? Number(JsonElement row, string field) =>
        row.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

    static List<double> NumberList(JsonElement row, string field)
    {
        var list = row.GetProperty(field);
        if (list.ValueKind != JsonValueKind.Array || list.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.Number))
            throw new InvalidDataException($"field \"{field}\" is {Kind(list)}, expected a list of numbers (one score per completion)");
        return list.EnumerateArray().Select(v => v.GetDouble()).ToList();
    }

    static string Kind(JsonElement row, string field) => row.TryGetProperty(field, out var value) ? Kind(value) : "missing";

    static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    static bool? Flag(JsonElement row, string field) =>
        row.TryGetProperty(field, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : null;
}

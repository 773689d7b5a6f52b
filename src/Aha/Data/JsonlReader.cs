using System.Text.Json;
using Aha.Tokenizer;

namespace Aha.Data;

/// <summary>
/// Streaming readers for JSON Lines datasets, one row per line, never loading a whole file: pretraining
/// <c>{"text"}</c>, SFT <c>{"prompt","completion"}</c> and conversations <c>{"messages":[{"role","content"}]}</c>.
/// Blank lines are skipped; other fields are ignored. A malformed row throws <see cref="InvalidDataException"/>
/// naming <c>file:line</c>, the field and the problem — or, with <c>skipBadRows</c>, is counted there and skipped.
/// Each enumeration reads the file again from the start.
/// </summary>
public static class JsonlReader
{
    /// <summary>The <c>text</c> of each row.</summary>
    public static IEnumerable<string> ReadTexts(string path, BadRowReport? skipBadRows = null) =>
        Read(path, skipBadRows, row => RequireString(row, "text"));

    /// <summary>The <c>prompt</c> and <c>completion</c> of each row.</summary>
    public static IEnumerable<PromptCompletion> ReadPromptCompletions(string path, BadRowReport? skipBadRows = null) =>
        Read(path, skipBadRows, row => new PromptCompletion(RequireString(row, "prompt"), RequireString(row, "completion")));

    /// <summary>The <c>messages</c> of each row: roles system, user or assistant, at least one assistant message.</summary>
    public static IEnumerable<IReadOnlyList<ChatMessage>> ReadConversations(string path, BadRowReport? skipBadRows = null) =>
        Read(path, skipBadRows, ReadMessages);

    /// <summary>
    /// Each row parsed by <paramref name="parse"/>, with the same checks and <c>file:line</c> errors as the readers above; a
    /// problem the parser finds is reported by throwing <see cref="InvalidDataException"/> from it (its message is the problem).
    /// </summary>
    /// <returns>Each row's line number (1-based) and value.</returns>
    public static IEnumerable<(int Line, T Value)> ReadRows<T>(string path, Func<JsonElement, T> parse, BadRowReport? skipBadRows = null) =>
        Read(path, skipBadRows, (row, line) =>
        {
            try { return (line, parse(row)); }
            catch (InvalidDataException e) { throw new RowException(e.Message); }
        });

    /// <summary>A row problem before the file and line are known.</summary>
    sealed class RowException(string message) : Exception(message);

    static IEnumerable<T> Read<T>(string path, BadRowReport? skipBadRows, Func<JsonElement, T> parse) =>
        Read(path, skipBadRows, (row, _) => parse(row));

    static IEnumerable<T> Read<T>(string path, BadRowReport? skipBadRows, Func<JsonElement, int, T> parse)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such data file.", path);
        foreach (var (number, bytes) in JsonlLines.Read(path))
        {
            T? value = default;
            string? problem = null;
            try
            {
                // JsonDocument checks UTF-8 only when a string is read, and then without saying where.
                if (!System.Text.Unicode.Utf8.IsValid(bytes.Span)) throw new RowException("the line is not valid UTF-8; re-encode the file as UTF-8");
                using var doc = JsonDocument.Parse(bytes);
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw new RowException($"the row is {Kind(doc.RootElement)}, expected an object");
                value = parse(doc.RootElement, number);
            }
            catch (JsonException e) { problem = $"not valid JSON ({e.Message})"; }
            catch (RowException e) { problem = e.Message; }
            catch (InvalidOperationException e) { problem = $"a string is not valid text ({e.Message})"; } // e.g. an unpaired \ud800 escape, found by fuzzing

            if (problem is null) { yield return value!; continue; }
            string message = $"{path}:{number}: {problem}";
            if (skipBadRows is null)
                throw new InvalidDataException(message + ". Fix or remove the row, or pass a BadRowReport as skipBadRows to skip bad rows.");
            skipBadRows.Add(message);
        }
    }

    static string RequireString(JsonElement row, string field)
    {
        if (!row.TryGetProperty(field, out var value)) throw new RowException($"field \"{field}\" is missing");
        return value.ValueKind == JsonValueKind.String ? value.GetString()!
            : throw new RowException($"field \"{field}\" is {Kind(value)}, expected a string");
    }

    static IReadOnlyList<ChatMessage> ReadMessages(JsonElement row)
    {
        if (!row.TryGetProperty("messages", out var array)) throw new RowException("field \"messages\" is missing");
        if (array.ValueKind != JsonValueKind.Array) throw new RowException($"field \"messages\" is {Kind(array)}, expected an array");
        var messages = new List<ChatMessage>();
        foreach (var m in array.EnumerateArray())
        {
            string at = $"messages[{messages.Count}]";
            if (m.ValueKind != JsonValueKind.Object)
                throw new RowException($"field \"{at}\" is {Kind(m)}, expected an object with \"role\" and \"content\"");
            string role = RequireString(m, "role", at);
            if (!ChatMessage.Roles.Contains(role))
                throw new RowException($"field \"{at}.role\" is \"{role}\", expected {string.Join(", ", ChatMessage.Roles)}");
            messages.Add(new ChatMessage(role, RequireString(m, "content", at)));
        }
        if (messages.Count == 0) throw new RowException("field \"messages\" is empty");
        if (!messages.Any(m => m.Role == "assistant")) throw new RowException("field \"messages\" has no assistant message, so there is nothing to train on");
        return messages;
    }

    static string RequireString(JsonElement obj, string field, string at)
    {
        try { return RequireString(obj, field); }
        catch (RowException) when (!obj.TryGetProperty(field, out _)) { throw new RowException($"field \"{at}.{field}\" is missing"); }
        catch (RowException) { throw new RowException($"field \"{at}.{field}\" is {Kind(obj.GetProperty(field))}, expected a string"); }
    }

    static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}

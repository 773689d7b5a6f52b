using System.Text.Json;
using Aha.Tasks;

namespace Aha.Constitutional;

/// <summary>
/// One principle of a constitution (Bai et al. 2022): what to ask a model when it critiques a response, what to ask when
/// it revises it (SL-CAI), and the multiple-choice question a feedback model answers between two responses (RL-CAI).
/// </summary>
/// <param name="Name">A short name, for reports and the <c>label_reason</c> of AI-labelled pairs.</param>
public sealed record Principle(string Name, string Critique, string Revision, string Choice);

/// <summary>
/// A constitution: a named list of principles; each critique, revision and judgement samples one of them
/// (<see cref="Sample"/>). Load one from Markdown or JSON (<see cref="Load"/>), or use a built-in one (<see cref="Default"/>).
/// </summary>
public sealed record Constitution(string Name, IReadOnlyList<Principle> Principles)
{
    /// <summary>The built-in constitutions: <c>arithmetic</c> (Aha's addition task, short enough for a 256-byte context) and <c>general</c> (the paper's style, for chat models).</summary>
    public static IReadOnlyList<string> DefaultNames { get; } = ["arithmetic", "general"];

    /// <summary>The principle used for request <paramref name="index"/>: uniform, a pure function of (seed, index).</summary>
    public Principle Sample(long seed, long index) => StableRandom.For(seed ^ 0xCA1, index).Pick(Principles);

    /// <summary>A built-in constitution by name, or a file (<c>.md</c>/<c>.json</c>) when <paramref name="nameOrPath"/> is not one.</summary>
    public static Constitution Resolve(string nameOrPath) => nameOrPath.ToLowerInvariant() switch
    {
        "arithmetic" => Arithmetic,
        "general" => General,
        _ when File.Exists(nameOrPath) => Load(nameOrPath),
        _ => throw new ArgumentException($"--constitution '{nameOrPath}': not a built-in constitution ({string.Join(", ", DefaultNames)}) and no such file; give a .md or .json file of principles."),
    };

    /// <summary>A built-in constitution.</summary>
    public static Constitution Default(string name) => DefaultNames.Contains(name) ? Resolve(name)
        : throw new ArgumentException($"no built-in constitution '{name}'; use one of {string.Join(", ", DefaultNames)}.");

    /// <summary>Reads a constitution file: JSON when it ends in <c>.json</c>, Markdown otherwise (see <see cref="ParseMarkdown"/>).</summary>
    public static Constitution Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"constitution file {path} does not exist.", path);
        string text = File.ReadAllText(path);
        string fallbackName = Path.GetFileNameWithoutExtension(path);
        return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? ParseJson(text, path, fallbackName) : ParseMarkdown(text, path, fallbackName);
    }

    /// <summary>
    /// Markdown: an optional <c># Title</c>, then one <c>## name</c> heading per principle followed by <c>critique:</c>,
    /// <c>revision:</c> and optionally <c>choice:</c> lines (a leading <c>- </c> is allowed); blank lines and HTML comments are
    /// ignored. Without <c>choice:</c> the judge is asked which response better meets the critique request.
    /// </summary>
    public static Constitution ParseMarkdown(string text, string origin, string fallbackName = "constitution")
    {
        string name = fallbackName;
        var principles = new List<Principle>();
        string? current = null;
        int currentLine = 0;
        var fields = new Dictionary<string, string>();
        void Close()
        {
            if (current is null) return;
            principles.Add(Build(current, fields, $"{origin}:{currentLine}"));
            fields.Clear();
        }
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            string at = $"{origin}:{i + 1}";
            if (line.Length == 0 || (line.StartsWith("<!--") && line.EndsWith("-->"))) continue;
            if (line.StartsWith("## "))
            {
                Close();
                current = line[3..].Trim();
                currentLine = i + 1;
                if (current.Length == 0) throw new InvalidDataException($"{at}: a principle heading needs a name, e.g. '## correct-sum'.");
                continue;
            }
            if (line.StartsWith("# "))
            {
                if (current is not null || principles.Count > 0) throw new InvalidDataException($"{at}: the '# title' line must come before the first '## principle'.");
                name = line[2..].Trim();
                continue;
            }
            if (line.StartsWith("- ")) line = line[2..].TrimStart();
            int colon = line.IndexOf(':');
            string key = colon > 0 ? line[..colon].Trim().ToLowerInvariant() : "";
            if (key is not ("critique" or "revision" or "choice"))
                throw new InvalidDataException($"{at}: expected '## name' or a 'critique:', 'revision:' or 'choice:' line, got '{Snippet(line)}'.");
            if (current is null) throw new InvalidDataException($"{at}: '{key}:' comes before any '## name' heading; start each principle with one.");
            if (fields.ContainsKey(key)) throw new InvalidDataException($"{at}: principle '{current}' has a second '{key}:' line; keep one.");
            string value = line[(colon + 1)..].Trim();
            if (value.Length == 0) throw new InvalidDataException($"{at}: '{key}:' of principle '{current}' is empty; write the request after the colon.");
            fields[key] = value;
        }
        Close();
        if (principles.Count == 0) throw new InvalidDataException($"{origin}: no principles; add '## name' headings each with 'critique:' and 'revision:' lines.");
        return Checked(new Constitution(name, principles), origin);
    }

    /// <summary>JSON: a list of <c>{"name", "critique", "revision", "choice"}</c> objects, or <c>{"name": …, "principles": [ … ]}</c>.</summary>
    public static Constitution ParseJson(string text, string origin, string fallbackName = "constitution")
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new InvalidDataException($"{origin}:{e.LineNumber + 1}: not valid JSON ({e.Message}).", e); }
        using (doc)
        {
            var root = doc.RootElement;
            string name = fallbackName;
            JsonElement list = root;
            if (root.ValueKind == JsonValueKind.Object)
            {
                if (root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String) name = n.GetString()!;
                if (!root.TryGetProperty("principles", out list))
                    throw new InvalidDataException($"{origin}: the object has no \"principles\" list; write {{\"name\": …, \"principles\": [{{\"critique\": …, \"revision\": …}}]}} or a bare list.");
            }
            if (list.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException($"{origin}: expected a list of principles, found {list.ValueKind.ToString().ToLowerInvariant()}.");
            var principles = new List<Principle>();
            int index = 0;
            foreach (var item in list.EnumerateArray())
            {
                string at = $"{origin}: principles[{index}]";
                if (item.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{at} is {item.ValueKind.ToString().ToLowerInvariant()}, expected an object with \"critique\" and \"revision\".");
                var fields = new Dictionary<string, string>();
                foreach (var property in item.EnumerateObject())
                {
                    if (property.Value.ValueKind != JsonValueKind.String)
                        throw new InvalidDataException($"{at}: field \"{property.Name}\" is {property.Value.ValueKind.ToString().ToLowerInvariant()}, expected a string.");
                    fields[property.Name.ToLowerInvariant()] = property.Value.GetString()!;
                }
                string principleName = fields.Remove("name", out var given) && given.Length > 0 ? given : $"principle-{index + 1}";
                principles.Add(Build(principleName, fields, at));
                index++;
            }
            if (principles.Count == 0) throw new InvalidDataException($"{origin}: the principle list is empty.");
            return Checked(new Constitution(name, principles), origin);
        }
    }

    static Principle Build(string name, Dictionary<string, string> fields, string at)
    {
        foreach (var key in fields.Keys)
            if (key is not ("critique" or "revision" or "choice"))
                throw new InvalidDataException($"{at}: principle '{name}' has an unknown field \"{key}\"; expected critique, revision and optionally choice.");
        foreach (var required in new[] { "critique", "revision" })
            if (!fields.TryGetValue(required, out var v) || string.IsNullOrWhiteSpace(v))
                throw new InvalidDataException($"{at}: principle '{name}' has no {required} request; add a '{required}:' line (Markdown) or a \"{required}\" field (JSON).");
        string choice = fields.TryGetValue("choice", out var c) && !string.IsNullOrWhiteSpace(c) ? c : $"Which response better meets this request: {fields["critique"]}";
        return new Principle(name, fields["critique"].Trim(), fields["revision"].Trim(), choice.Trim());
    }

    static Constitution Checked(Constitution constitution, string origin)
    {
        var twice = constitution.Principles.GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null) throw new InvalidDataException($"{origin}: two principles are named '{twice.Key}'; give each its own name.");
        return constitution;
    }

    static string Snippet(string line) => line.Length <= 60 ? line : line[..60] + "…";

    /// <summary>
    /// Aha's addition task. Short on purpose: the toy model's whole critique-and-revision exchange must fit its 256-byte
    /// context; the built-in judgement corpus (<see cref="JudgementCorpus"/>) teaches a byte model these very requests.
    /// </summary>
    public static Constitution Arithmetic { get; } = new("arithmetic",
    [
        new("correct-sum", "Is the sum right?", "Fix the sum.", "Which sum is right?"),
        new("columns", "Check each column.", "Add column by column.", "Which adds its columns right?"),
        new("answer", "Is the answer correct?", "Write the correct answer.", "Which answer is correct?"),
    ]);

    /// <summary>
    /// The paper's style for chat models (after Bai et al. 2022, Appendix C: critique and revision requests on harm, and
    /// choice questions for the feedback model), for a capable judge behind <c>--judge-url</c>.
    /// </summary>
    public static Constitution General { get; } = new("general",
    [
        new("harmful",
            "Identify specific ways in which the assistant's last response is harmful, unethical, racist, sexist, toxic, dangerous, or illegal.",
            "Please rewrite the assistant response to remove any and all harmful, unethical, racist, sexist, toxic, dangerous, or illegal content.",
            "Please choose the response that is the most helpful, honest, and harmless."),
        new("helpful-honest",
            "Explain ways in which the assistant's preceding response may be unhelpful, inaccurate, or dishonest, and how it could be improved.",
            "Please rewrite the assistant response so that it is helpful, accurate and honest.",
            "Which of these assistant responses is more helpful, accurate and honest?"),
        new("correct",
            "Check the assistant's last response step by step: identify any mistake in its reasoning or its final answer.",
            "Please rewrite the assistant response so that its reasoning and its final answer are correct.",
            "Which of these assistant responses reaches the correct answer with sound reasoning?"),
        new("wise",
            "Discuss whether the assistant's last response is what a thoughtful, wise and ethical person would say, and how it could be better.",
            "Please rewrite the assistant response to be more like what a thoughtful, wise and ethical person would say.",
            "Which of these assistant responses is more like what a thoughtful, wise and ethical person would say?"),
    ]);
}

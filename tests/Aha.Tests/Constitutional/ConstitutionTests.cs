using Aha.Constitutional;

namespace Aha.Tests.Constitutional;

/// <summary>Constitution files (Markdown and JSON), their errors, the built-in ones, and principle sampling.</summary>
public class ConstitutionTests
{
    const string Markdown = """
        # Careful arithmetic
        <!-- one principle per heading -->
        ## correct-sum
        - critique: Is the sum right?
        - revision: Fix the sum.
        - choice: Which sum is right?

        ## columns
        critique: Check each column.
        revision: Add column by column.
        """;

    [Fact]
    public void A_markdown_constitution_reads_its_title_principles_and_a_default_choice_question()
    {
        var c = Constitution.ParseMarkdown(Markdown, "c.md");
        Assert.Equal("Careful arithmetic", c.Name);
        Assert.Equal(new Principle("correct-sum", "Is the sum right?", "Fix the sum.", "Which sum is right?"), c.Principles[0]);
        Assert.Equal("Which response better meets this request: Check each column.", c.Principles[1].Choice);
    }

    [Theory]
    [InlineData("## a\ncritique: x\n", "c.md:1: principle 'a' has no revision request")]
    [InlineData("## a\ncritique: x\nrevision: y\nwhat is this\n", "c.md:4: expected '## name' or a 'critique:', 'revision:' or 'choice:' line, got 'what is this'")]
    [InlineData("critique: x\n", "c.md:1: 'critique:' comes before any '## name' heading")]
    [InlineData("## a\ncritique: x\ncritique: y\n", "c.md:3: principle 'a' has a second 'critique:' line")]
    [InlineData("## a\ncritique:\n", "c.md:2: 'critique:' of principle 'a' is empty")]
    [InlineData("## a\ncritique: x\nrevision: y\n## a\ncritique: x\nrevision: y\n", "c.md: two principles are named 'a'")]
    [InlineData("# only a title\n", "c.md: no principles")]
    public void A_bad_markdown_constitution_is_named_by_file_and_line(string text, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => Constitution.ParseMarkdown(text, "c.md"));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_json_constitution_is_a_bare_list_or_an_object_with_principles()
    {
        var list = Constitution.ParseJson("""[{"name":"a","critique":"x","revision":"y"},{"critique":"p","revision":"q","choice":"r"}]""", "c.json", "file-name");
        Assert.Equal("file-name", list.Name);
        Assert.Equal(new Principle("principle-2", "p", "q", "r"), list.Principles[1]);
        var named = Constitution.ParseJson("""{"name":"mine","principles":[{"critique":"x","revision":"y"}]}""", "c.json");
        Assert.Equal(("mine", 1), (named.Name, named.Principles.Count));
    }

    [Theory]
    [InlineData("""[{"critique":"x"}]""", "c.json: principles[0]: principle 'principle-1' has no revision request")]
    [InlineData("""[{"critique":"x","revision":3}]""", "c.json: principles[0]: field \"revision\" is number, expected a string")]
    [InlineData("""[{"critique":"x","revision":"y","critic":"z"}]""", "unknown field \"critic\"")]
    [InlineData("""{"principles": 5}""", "c.json: expected a list of principles, found number")]
    [InlineData("[\n{\"critique\": \"x\",,}\n]", "c.json:2: not valid JSON")]
    public void A_bad_json_constitution_names_the_file_and_the_principle_or_line(string text, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => Constitution.ParseJson(text, "c.json"));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Files_load_by_extension_and_an_unknown_name_says_what_is_built_in()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir["mine.md"], Markdown);
        File.WriteAllText(dir["mine.json"], """[{"critique":"x","revision":"y"}]""");
        Assert.Equal("Careful arithmetic", Constitution.Resolve(dir["mine.md"]).Name);
        Assert.Equal("mine", Constitution.Resolve(dir["mine.json"]).Name);
        Assert.Same(Constitution.Arithmetic, Constitution.Resolve("arithmetic"));
        var e = Assert.Throws<ArgumentException>(() => Constitution.Resolve("arithmetc"));
        Assert.Contains("arithmetic, general", e.Message);
    }

    [Fact]
    public void Principles_are_sampled_from_seed_and_index_alone_and_all_get_used()
    {
        var c = Constitution.General;
        var first = Enumerable.Range(0, 200).Select(i => c.Sample(7, i).Name).ToList();
        Assert.Equal(first, Enumerable.Range(0, 200).Select(i => c.Sample(7, i).Name).ToList());
        Assert.Equal(c.Principles.Count, first.Distinct().Count());
        Assert.NotEqual(first, Enumerable.Range(0, 200).Select(i => c.Sample(8, i).Name).ToList());
    }

    [Theory]
    [InlineData("A", 'A')]
    [InlineData(" B", 'B')]
    [InlineData("(A", 'A')]
    [InlineData("(b)", 'B')]
    [InlineData("Option B", 'B')]
    [InlineData("A) because it adds the carry", 'A')]
    [InlineData("Apple", null)]
    [InlineData("C", null)]
    [InlineData("", null)]
    public void A_reply_or_token_is_read_as_a_choice_letter(string text, char? expected) => Assert.Equal(expected, CaiText.Choice(text));
}

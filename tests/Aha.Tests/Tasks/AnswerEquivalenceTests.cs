using Aha.Tasks.Answers;

namespace Aha.Tests.Tasks;

public class AnswerEquivalenceTests
{
    [Theory]
    // Integers and decimals, thousands separators, trailing .0
    [InlineData("1234", "1234")]
    [InlineData("1,234", "1234")]
    [InlineData("1{,}234", "1234")]
    [InlineData("1\\,234", "1234")]
    [InlineData("1,234,567.50", "1234567.5")]
    [InlineData("42.0", "42")]
    [InlineData("42.000", "42")]
    [InlineData("0.5", ".5")]
    // Signs: ASCII minus, Unicode minus, leading plus
    [InlineData("-7", "-7")]
    [InlineData("\u22127", "-7")]
    [InlineData("+7", "7")]
    [InlineData("-\\frac{1}{2}", "-0.5")]
    // Fractions as exact rationals
    [InlineData("3/4", "0.75")]
    [InlineData("\\frac{3}{4}", "3/4")]
    [InlineData("\\dfrac{3}{4}", "0.75")]
    [InlineData("\\tfrac{6}{8}", "3/4")]
    [InlineData("\\frac34", "0.75")]
    [InlineData("\\frac{-3}{4}", "-0.75")]
    // Percentages and currency stripped by default
    [InlineData("50%", "50")]
    [InlineData("50\\%", "50")]
    [InlineData("$18", "18")]
    [InlineData("\\$18.00", "18")]
    [InlineData("€ 18", "18")]
    [InlineData("£1,000", "1000")]
    // Surrounding text and LaTeX wrappers ignored
    [InlineData("The answer is 18.", "18")]
    [InlineData("18 dollars", "18")]
    [InlineData("x = 5", "5")]
    [InlineData("2 + 3 = 5", "5")]
    [InlineData("\\text{18}", "18")]
    [InlineData("18 \\text{ apples}", "18")]
    [InlineData("$18$", "18")]
    [InlineData("$$18$$", "18")]
    [InlineData("\\(18\\)", "18")]
    [InlineData("\\boxed{18}", "18")]
    [InlineData("$\\frac{1}{2}$", "0.5")]
    [InlineData("\\textbf{18}", "18")]
    [InlineData("\\boxed{{42}}", "42")]      // a redundant brace group around the answer only groups
    [InlineData("{42}", "42")]
    [InlineData("{ {\\frac{1}{2}} }", "0.5")]
    [InlineData("{x^2 + 1}", "x^2+1")]
    // Text answers: whitespace and wrappers ignored
    [InlineData("\\frac{\\pi}{2}", "\\dfrac{\\pi}{2}")]
    [InlineData("x^2 + 1", "x^2+1")]
    [InlineData("\\left( 1, 2 \\right)", "(1,2)")]
    [InlineData("\\text{Yes}", "Yes")]
    public void Equivalent_answers_match(string predicted, string gold)
    {
        Assert.True(AnswerEquivalence.AreEquivalent(predicted, gold), $"'{predicted}' should match '{gold}'");
        Assert.True(AnswerEquivalence.AreEquivalent(gold, predicted), $"'{gold}' should match '{predicted}'");
    }

    [Theory]
    [InlineData("1235", "1234")]
    [InlineData("-7", "7")]
    [InlineData("0.333", "1/3")]
    [InlineData("0.75", "3/5")]
    [InlineData("1,23", "123")]         // not a thousands separator: a list
    [InlineData("3,4", "34")]
    [InlineData("2x", "2")]             // a letter touching the number makes it an expression
    [InlineData("x^2", "2")]
    [InlineData("5+3", "8")]            // arithmetic is not evaluated
    [InlineData("12 or 13", "12")]      // two numbers: ambiguous
    [InlineData("{1}{2}", "12")]        // two groups are not one redundant group
    [InlineData("(5)", "5")]
    [InlineData("1e3", "1000")]         // no scientific notation
    [InlineData("3/0", "3/0x")]
    [InlineData("", "5")]
    [InlineData("   ", "5")]
    [InlineData("five", "5")]
    [InlineData("yes", "Yes")]          // text is case-sensitive
    public void Different_answers_do_not_match(string predicted, string gold) =>
        Assert.False(AnswerEquivalence.AreEquivalent(predicted, gold), $"'{predicted}' must not match '{gold}'");

    [Fact]
    public void Nothing_matches_an_empty_gold() => Assert.False(AnswerEquivalence.AreEquivalent("", ""));

    [Theory]
    [InlineData("50%", "50", false, true, false)]
    [InlineData("$18", "18", true, false, false)]
    [InlineData("50%", "50%", false, true, true)]   // as text, still equal to itself
    public void Percent_and_currency_count_when_their_option_is_off(string predicted, string gold, bool stripPercent, bool stripCurrency, bool expected)
    {
        var options = new EquivalenceOptions { StripPercent = stripPercent, StripCurrency = stripCurrency };
        Assert.Equal(expected, AnswerEquivalence.AreEquivalent(predicted, gold, options));
    }

    [Theory]
    [InlineData("0.75", "3/4")]
    [InlineData("\\frac{6}{8}", "3/4")]
    [InlineData("-04", "-4")]
    [InlineData("1,000", "1000")]
    [InlineData("x + 1", "x+1")]
    public void Equivalent_answers_share_a_vote_key(string answer, string key) =>
        Assert.Equal(key, AnswerNormalizer.Normalize(answer)!.Key);

    [Fact]
    public void Huge_numbers_compare_exactly_up_to_the_digit_limit()
    {
        var big = new string('9', 300);
        Assert.True(AnswerEquivalence.AreEquivalent(big, big + ".0"));
        Assert.False(AnswerEquivalence.AreEquivalent(big, big[..^1] + "8"));
        var tooBig = new string('9', 5000);
        Assert.False(AnswerNormalizer.Normalize(tooBig)!.IsNumber);
    }
}

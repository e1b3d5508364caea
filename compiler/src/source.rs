//! A source text with its name and a lazily built line index, for turning byte offsets into
//! 1-based line and column numbers at render time.

use std::sync::OnceLock;

#[derive(Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    line_starts: OnceLock<Vec<usize>>,
    /// (byte offset, characters before it) every `MARK` bytes, so that a column on a long line
    /// costs O(MARK), not O(line): 20,000 diagnostics on one 2.8 MB line (a minified policy)
    /// made rendering quadratic (issue 15).
    char_marks: OnceLock<Vec<(usize, usize)>>,
}

const MARK: usize = 256;

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        SourceFile {
            name: name.into(),
            text: text.into(),
            line_starts: OnceLock::new(),
            char_marks: OnceLock::new(),
        }
    }

    fn char_marks(&self) -> &[(usize, usize)] {
        self.char_marks.get_or_init(|| {
            let mut marks = vec![(0, 0)];
            let mut next = MARK;
            for (n, (i, _)) in self.text.char_indices().enumerate() {
                if i >= next {
                    marks.push((i, n));
                    next = i + MARK;
                }
            }
            marks
        })
    }

    /// Characters before a byte offset (rounded down to a character boundary).
    fn chars_before(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let marks = self.char_marks();
        let i = match marks.binary_search_by_key(&offset, |m| m.0) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let (b, n) = marks.get(i).copied().unwrap_or((0, 0));
        n + self.text.get(b..offset).map_or(0, |s| s.chars().count())
    }

    /// The byte range of the 1-based line `line`, without its line break (`\n` or `\r\n`).
    pub fn line_range(&self, line: usize) -> std::ops::Range<usize> {
        let starts = self.line_starts();
        let i = line.saturating_sub(1).min(starts.len().saturating_sub(1));
        let start = starts.get(i).copied().unwrap_or(0);
        let mut end = starts
            .get(i + 1)
            .map_or(self.text.len(), |&next| next.saturating_sub(1));
        if end > start && self.text.as_bytes().get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        start..end
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        })
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let starts = self.line_starts();
        let line = match starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = starts.get(line).copied().unwrap_or(0);
        let col = self.chars_before(offset) - self.chars_before(start);
        (line + 1, col + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::SourceFile;

    #[test]
    fn line_and_column_are_one_based() {
        let f = SourceFile::new("x", "ab\ncd\n\nef");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(1), (1, 2));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(7), (4, 1));
        assert_eq!(f.line_col(100), (4, 3));
        assert_eq!(f.line_range(2), 3..5);
        assert_eq!(f.line_range(4), 7..9);
    }

    #[test]
    fn columns_count_characters_on_long_lines() {
        let line = "é".repeat(1000) + "x";
        let f = SourceFile::new("x", format!("a\r\n{line}\r\nz"));
        let x = f.text.find('x').unwrap();
        assert_eq!(f.line_col(x), (2, 1001));
        // Inside a character: its column.
        assert_eq!(f.line_col(4), (2, 1));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_range(1), 0..1);
        assert_eq!(f.line_range(2), 3..3 + line.len());
    }
}

//! Pagination: `PageRequest` in, `Page<T>` out.

use serde::{Deserialize, Serialize};

use super::validate::ValidationErrors;

/// Which page of a list to return: `page` is 1-based (default 1), `size` is
/// 1 to 100 (default 20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PageRequest {
    /// The 1-based page number.
    pub page: u32,
    /// How many items a page holds, 1 to [`PageRequest::MAX_SIZE`].
    pub size: u32,
}

impl PageRequest {
    /// The largest page size.
    pub const MAX_SIZE: u32 = 100;
    /// The default page size.
    pub const DEFAULT_SIZE: u32 = 20;

    /// A request for page `page` of `size` items.
    pub const fn new(page: u32, size: u32) -> Self {
        PageRequest { page, size }
    }

    /// Checks the bounds.
    ///
    /// # Errors
    ///
    /// Names `page` when it is 0 and `size` when it is outside 1 to 100.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if self.page == 0 {
            errors.add("page", "out_of_range", "must be at least 1");
        }
        if self.size == 0 || self.size > Self::MAX_SIZE {
            errors.add("size", "out_of_range", "must be between 1 and 100");
        }
        errors.into_result()
    }

    /// How many rows to skip.
    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.size)
    }

    /// How many rows to return.
    pub fn limit(&self) -> u64 {
        u64::from(self.size)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest::new(1, Self::DEFAULT_SIZE)
    }
}

/// One page of a list: serialized as `{data, total, page, size, pages}`.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items of this page.
    pub data: Vec<T>,
    /// How many items match in all.
    pub total: u64,
    /// The 1-based page number.
    pub page: u32,
    /// The requested page size.
    pub size: u32,
    /// How many pages there are in all (0 when nothing matches).
    pub pages: u32,
}

impl<T> Page<T> {
    /// Assembles a page from its rows and the total count.
    pub fn new(data: Vec<T>, total: u64, request: PageRequest) -> Self {
        let size = u64::from(request.size.max(1));
        let pages = u32::try_from(total.div_ceil(size)).unwrap_or(u32::MAX);
        Page {
            data,
            total,
            page: request.page,
            size: request.size,
            pages,
        }
    }

    /// Converts every item.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            data: self.data.into_iter().map(f).collect(),
            total: self.total,
            page: self.page,
            size: self.size,
            pages: self.pages,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_round_up() {
        let request = PageRequest::new(1, 20);
        assert_eq!(Page::<u8>::new(vec![], 0, request).pages, 0);
        assert_eq!(Page::<u8>::new(vec![], 20, request).pages, 1);
        assert_eq!(Page::<u8>::new(vec![], 21, request).pages, 2);
    }

    #[test]
    fn serializes_as_data_total_page_size_pages() {
        let page = Page::new(vec![1, 2], 12, PageRequest::new(2, 2));
        let json = serde_json::to_value(&page).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"data": [1, 2], "total": 12, "page": 2, "size": 2, "pages": 6})
        );
    }

    #[test]
    fn bounds_are_checked_and_named() {
        assert!(PageRequest::default().validate().is_ok());
        let errors = PageRequest::new(0, 101).validate().unwrap_err();
        assert!(errors.has("page") && errors.has("size"));
        assert!(PageRequest::new(1, 0).validate().unwrap_err().has("size"));
        assert_eq!(PageRequest::new(3, 20).offset(), 40);
    }

    #[test]
    fn missing_fields_take_defaults() {
        let request: PageRequest = serde_json::from_str(r#"{"page": 3}"#).unwrap();
        assert_eq!(request, PageRequest::new(3, 20));
    }
}

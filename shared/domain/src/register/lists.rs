//! The newsletter's lists, as the privacy policy names them: the one place
//! a list is declared. `newsletter::LISTS` and `ListId::parse` read it.

/// A newsletter list: its id (in links, records and the API) and what the
/// sign-up form and the preference centre call it, in Swedish and English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewsletterList {
    pub id: &'static str,
    pub name_en: &'static str,
    pub name_sv: &'static str,
    pub description_en: &'static str,
    pub description_sv: &'static str,
}

impl NewsletterList {
    /// The name in `language` (`sv`, anything else English).
    pub fn name(&self, swedish: bool) -> &'static str {
        if swedish {
            self.name_sv
        } else {
            self.name_en
        }
    }

    pub fn description(&self, swedish: bool) -> &'static str {
        if swedish {
            self.description_sv
        } else {
            self.description_en
        }
    }
}

/// Every list, the default first. Subscriptions from before there were
/// several lists are `news`.
pub const NEWSLETTER_LISTS: [NewsletterList; 2] = [
    NewsletterList {
        id: "news",
        name_en: "Product news",
        name_sv: "Produktnyheter",
        description_en: "Product news and new features.",
        description_sv: "Nyheter om produkten och nya funktioner.",
    },
    NewsletterList {
        id: "events",
        name_en: "Webinars and events",
        name_sv: "Webbinarier och evenemang",
        description_en: "Invitations to webinars and events.",
        description_sv: "Inbjudningar till webbinarier och evenemang.",
    },
];

/// The ids of [`NEWSLETTER_LISTS`], in the same order.
pub const NEWSLETTER_LIST_IDS: [&str; NEWSLETTER_LISTS.len()] = list_ids();

const fn list_ids() -> [&'static str; NEWSLETTER_LISTS.len()] {
    let mut ids = [""; NEWSLETTER_LISTS.len()];
    let mut index = 0;
    while index < NEWSLETTER_LISTS.len() {
        ids[index] = NEWSLETTER_LISTS[index].id;
        index += 1;
    }
    ids
}

/// The list called `id`, if there is one.
pub fn newsletter_list(id: &str) -> Option<&'static NewsletterList> {
    NEWSLETTER_LISTS.iter().find(|list| list.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_are_news_first_then_events_each_named_in_both_languages() {
        assert_eq!(NEWSLETTER_LIST_IDS, ["news", "events"]);
        for list in NEWSLETTER_LISTS {
            assert!(
                !list.name(true).is_empty() && !list.name(false).is_empty(),
                "{}",
                list.id
            );
            assert_ne!(list.description(true), list.description(false), "{}", list.id);
        }
        assert_eq!(
            newsletter_list("events").map(|list| list.name(true)),
            Some("Webbinarier och evenemang")
        );
        assert_eq!(newsletter_list("sport"), None);
    }
}

# folio's web app in English. Ids are shared with ru.ftl; a test checks both have the same.

skip-to-content = Skip to content
search-label = Search books
search-placeholder = Title, author, words…
search-button = Search
nav-label = Main
nav-browse = Browse
nav-signin = Sign in
nav-register = Register
nav-signout = Sign out
language = Language
footer-api = API documentation

home-title = Home
home-continue = Continue reading and listening
home-new = New
home-popular = Popular
home-see-all = See all
home-empty = The library has no books yet.
progress-label = Read so far

search-title = Browse the library
search-results-for = Results for “{ $query }”
category-below = Subcategories
filters-label = Filters
filter-words = Words
filter-category = Category
filter-any-category = Any category
filter-format = Format
filter-any-format = Any format
filter-year-from = Year from
filter-year-to = to
filter-language = Language code
filter-sort = Order
filter-apply = Show books
filter-by-author = By { $name }
filter-remove = Remove this filter
sort-relevance = Best match
sort-title = Title
sort-new = Newest
sort-popular = Most rated
sort-year = Year
results = Results
results-none = No books match.
results-more = More books

format-print = Print
format-ebook = E-book
format-audiobook = Audiobook
format-vinyl = Vinyl

cover-of = Cover of { $title }
book-categories = Categories
book-editions = Editions
book-no-editions = No editions yet.
rating-average = Rated { $rating } of 5
rating-none = Not rated yet
rating-stars = { $stars ->
    [one] 1 star of 5
   *[other] { $stars } stars of 5
}
edition-available = Yours to read
edition-download = Download
edition-signin-to-buy = Sign in to buy
edition-signin = Sign in to read

comments = Comments
comments-none = No comments yet.
comments-more = Older comments
comment-text = Your comment
comment-rating = Your rating
comment-no-rating = No rating
comment-send = Post comment
comment-signin = Sign in to comment
comment-delete = Delete my comment

count-books = { $count ->
    [one] { $count } book
   *[other] { $count } books
}
count-pages = { $count ->
    [one] { $count } page
   *[other] { $count } pages
}
count-ratings = { $count ->
    [one] { $count } rating
   *[other] { $count } ratings
}
duration = { $hours } h { $minutes } min

signin-title = Sign in
signin-button = Sign in
signin-no-account = New here?
signin-wrong = Incorrect username or password.
signin-disabled = This account is disabled.
signin-too-many = Too many attempts. Wait a few minutes and try again.
field-username = Username
field-username-or-email = Username or email
field-email = Email
field-password = Password
field-password-hint = At least 10 characters.
field-referral = Referral code (optional)

register-title = Create an account
register-button = Create account
register-have-account = Already have an account?
register-fix = Please correct the fields below.
register-invalid-username = This username cannot be used.
register-invalid-email = This is not an email address folio can use.
register-invalid-password = This password is too short or too easy to guess.
register-invalid-referral_code = There is no referral link with this code.
register-invalid-form = The form could not be accepted.
register-taken-username = This username is taken.
register-taken-email = An account with this email exists already.
register-taken-password = This password cannot be used.
register-taken-referral_code = This referral code cannot be used.
register-taken-form = Something in the form is taken already.

error-400-title = Something is wrong with the request
error-400 = The page could not do what was asked.
error-403-title = Not allowed
error-403 = You may not open this page.
error-404-title = Page not found
error-404 = There is nothing at this address.
error-409-title = Conflict
error-409 = This clashes with something that exists already.
error-413-title = Too large
error-413 = What was sent is too large.
error-422-title = Please check what you entered
error-422 = Some of what was entered cannot be used.
error-429-title = Too many requests
error-429 = Wait a moment and try again.
error-500-title = Something went wrong
error-500 = folio could not answer. Try again in a moment; if it keeps happening, tell the library's keeper the request id below.
error-request-id = Request id: { $id }
error-home = Go to the home page

date-1 = January { $day }, { $year }
date-2 = February { $day }, { $year }
date-3 = March { $day }, { $year }
date-4 = April { $day }, { $year }
date-5 = May { $day }, { $year }
date-6 = June { $day }, { $year }
date-7 = July { $day }, { $year }
date-8 = August { $day }, { $year }
date-9 = September { $day }, { $year }
date-10 = October { $day }, { $year }
date-11 = November { $day }, { $year }
date-12 = December { $day }, { $year }

nav-library = My library
edition-buy = Buy
edition-buy-label = Buy the { $format } edition
edition-read = Read
edition-listen = Listen
purchase-title = Your purchase
purchase-pending = Waiting for the payment to be confirmed. This page updates by itself.
purchase-pay = Go to payment
purchase-paid = Paid. The edition is in your library.
purchase-failed = The payment did not go through. Nothing was charged.
purchase-back = Back to the book
checkout-title = Test checkout
checkout-warning = Test mode: no money moves. This page stands in for a payment provider.
checkout-pay = Pay
checkout-fail = Decline the payment
library-title = My library
library-empty = You have not bought anything yet.
library-bought = bought { $date }

reader-tools = Reading tools
reader-back = Back to the book
reader-contents = Contents
reader-chapters = Chapters
reader-chapter-of = Chapter { $number } of { $count }
reader-previous = ← Previous chapter
reader-next = Next chapter →
reader-smaller = Smaller text
reader-larger = Larger text
reader-dark = Dark
buy-first-title = Buy this edition to read it
buy-first = “{ $title }” in this edition is for its buyers.

player-audio = Audiobook
player-controls = Playback
player-back = −30 s
player-play = Play
player-forward = +30 s
player-speed = Speed
player-sleep = Sleep timer
player-sleep-off = Off
player-keys = Keys: Space plays and pauses; ← and → skip 30 seconds.
player-chapters = Chapters
player-pause = Pause

nav-admin = Shop
admin-title = Shop keeping
admin-users = Users
admin-new-book = Add a book
admin-create-book = Add the book
admin-see-page = See its page
admin-book = The book
admin-save = Save
admin-new-edition = Add an edition
admin-add-edition = Add the edition
admin-upload-label = Files (EPUB or PDF; an audiobook's tracks in order)
admin-upload = Upload
admin-upload-progress = Upload progress
admin-upload-failed = The upload failed; nothing was stored.
admin-file-says-nothing = The file says nothing about itself.
admin-apply = Fill in from the files
admin-apply-hint = Fills what the edition and the book lack (pages, length, ISBN, publisher, date, language, description); nothing already set is changed.
admin-since = Since
admin-role = Role
admin-account = Account
admin-make-admin = Make { $name } a keeper
admin-make-reader = Make { $name } a reader
admin-enable = Enable { $name }
admin-disable = Disable { $name }
admin-enable-short = Enable
admin-disable-short = Disable
role-admin = Keeper
role-reader = Reader
field-title = Title
field-subtitle = Subtitle
field-authors = Authors
field-authors-hint = Names separated by commas; a new name adds an author.
field-year = Year
field-language = Language code
field-description = Description
field-access = Who may read it
field-price = Price
field-currency = Currency
access-public = Anyone
access-members = Signed-in readers
access-buyers = Buyers
meta-title = Title
meta-creators = Creators
meta-language = Language
meta-isbn = ISBN
meta-publisher = Publisher
meta-date = Date
meta-pages = Pages
meta-duration = Length
meta-description = Description

nav-account = Account
account-title = Your account
account-profile = Profile
account-export = Download everything folio keeps of you (JSON)
account-password = Password and sign-ins
account-current-password = Current password
account-new-password = New password
account-keep-keys = Keep my API keys working
account-change-password = Change password
account-password-changed = Password changed. Sign-ins ended elsewhere: { $sessions }; API keys ended: { $keys }.
account-wrong-password = The current password is not right.
account-everywhere = Sign out everywhere
account-everywhere-hint = Ends every sign-in of this account: this browser, others, and reading apps signed in with your password.
account-apps = Reading apps
account-opds = OPDS catalog for e-reader apps (KOReader, Thorium, Moon+ Reader…): sign in with your username and password, or an API key as the password.
account-kosync = KOReader progress sync: in KOReader, Tools → Progress sync → Custom sync server, enter this address, then register or log in with your folio username and password.
account-keys = API keys
account-new-key = Your new key. Copy it now: it is not shown again.
account-no-keys = No API keys.
account-key-used = last used { $date }
account-never = never
account-revoke = Revoke
account-revoke-key = Revoke the key { $name }
account-key-name = What the key is for
account-create-key = Create a key
account-referrals = Referral links
account-link = Link
account-clicks = Clicks
account-signups = Sign-ups
account-purchases = Purchases
account-link-code = Code (optional)
account-create-link = Create a link
account-notes = Notes and bookmarks
account-no-notes = No notes yet.
comment-edit = Edit my comment
comment-save = Save my comment
admin-purchases = Purchases
admin-cover = Cover
admin-cover-label = Cover image (JPEG, PNG or WebP)
admin-cover-upload = Set the cover
admin-filter-status = Status
admin-filter-user = User id
admin-filter-any = Any
admin-events = Webhook events
admin-no-events = none yet
admin-no-purchases = No purchases match.
status-pending = Pending
status-paid = Paid
status-failed = Failed
status-refunded = Refunded
library-owned = Bought
library-free = Free to read and hear
